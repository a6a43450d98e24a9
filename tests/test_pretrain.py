"""python -m encoder_lib.pretrain: settings, resuming, checkpoints and bad input.

Every run here is a real (tiny) training run on a small corpus file made by the test."""
from __future__ import annotations

import json
from dataclasses import fields, replace

import pytest
import torch
from safetensors.torch import load_file

from encoder_lib.data import splits
from encoder_lib.pretrain import CheckpointError, PretrainConfig, preset, train
from encoder_lib.pretrain.__main__ import main
from encoder_lib.pretrain.config import build_parser, config_from_args

TINY = dict(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_position=32, max_length=32,
            batch_size=16, max_steps=6, warmup_steps=2, lr=3e-3, heldout_sentences=64, eval_every=3,
            checkpoint_every=3, dropout=0.1, seed=5)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "sentences.txt"
    path.write_text("\n".join(splits.pretraining_sentences("train")[:400]) + "\n", encoding="utf-8")
    return path


def tiny(corpus, out_dir, **overrides) -> PretrainConfig:
    return PretrainConfig(**{**TINY, "corpus": str(corpus), "out_dir": str(out_dir), **overrides})


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


def test_interrupted_run_resumes_to_the_same_parameters_bit_for_bit(corpus, tmp_path):
    whole = train(tiny(corpus, tmp_path / "whole"), progress=False)
    cfg = tiny(corpus, tmp_path / "interrupted")
    cut = train(cfg, progress=False, stop_at_step=5)          # killed after step 5: steps 4-5 are lost
    assert cut["interrupted"] and (tmp_path / "interrupted" / "LATEST").read_text().strip() == "step_000003"
    train(cfg, resume=True, progress=False)                    # continues from step 3
    a, b = weights(tmp_path / "whole" / "final"), weights(tmp_path / "interrupted" / "final")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), f"{name} differs after resuming"
    resumed = json.loads((tmp_path / "interrupted" / "history.json").read_text())
    assert [r["loss"] for r in resumed["train"]] == [r["loss"] for r in whole["history"]["train"]]
    assert [r["step"] for r in resumed["train"]] == list(range(1, 7))


def test_a_run_writes_history_plot_checkpoints_and_learns(corpus, tmp_path):
    out = tmp_path / "run"
    summary = train(tiny(corpus, out, max_steps=40, warmup_steps=4, eval_every=20, checkpoint_every=20,
                         dropout=0.0), progress=False)
    history = json.loads((out / "history.json").read_text())
    assert len(history["train"]) == 40
    assert {"step", "loss", "lr", "tokens_per_s"} <= set(history["train"][0])
    assert all(r["tokens_per_s"] > 0 for r in history["train"])
    assert [e["step"] for e in history["eval"]] == [20, 40]
    assert {"loss", "perplexity", "accuracy", "tokens"} <= set(history["eval"][0])
    assert history["baseline"]["loss"] > 0 and "machine" in history["run"]
    first, last = history["train"][0]["loss"], sum(r["loss"] for r in history["train"][-5:]) / 5
    assert first > 10.0 and last < first - 1.5, f"the loss did not fall: {first:.2f} -> {last:.2f}"
    assert (out / "loss_curve.png").stat().st_size > 10_000
    assert sorted(p.name for p in out.glob("step_*")) == ["step_000020", "step_000040"]
    assert not list(out.glob(".*tmp*")), "a temporary file was left behind"
    assert summary["final_dir"] == str(out / "final")
    config = json.loads((out / "final" / "config.json").read_text())
    assert config["pretrain"]["max_steps"] == 40 and config["code_version"]


def test_learning_rate_warms_up_then_decays(corpus, tmp_path):
    summary = train(tiny(corpus, tmp_path / "lr", max_steps=12, warmup_steps=4, eval_every=12,
                         checkpoint_every=12, min_lr_ratio=0.1), progress=False)
    lrs = [r["lr"] for r in summary["history"]["train"]]
    peak = lrs.index(max(lrs))
    assert peak == 4 and lrs[:5] == sorted(lrs[:5]) and lrs[4:] == sorted(lrs[4:], reverse=True)
    assert lrs[-1] >= 0.1 * TINY["lr"] * 0.99


def test_resuming_from_a_checkpoint_of_another_configuration_is_refused(corpus, tmp_path):
    train(tiny(corpus, tmp_path / "run", max_steps=3), progress=False)
    with pytest.raises(CheckpointError, match=r"another configuration(.|\n)*lr: 0.003 \(checkpoint\) vs 0.001"):
        train(tiny(corpus, tmp_path / "run", max_steps=3, lr=1e-3), resume=True, progress=False)
    # settings that do not change the result may differ
    train(tiny(corpus, tmp_path / "run", max_steps=3, eval_every=1), resume=True, progress=False)


@pytest.mark.parametrize("damage", ["truncated weights", "garbage trainer state", "garbage config"])
def test_a_corrupt_checkpoint_is_a_clear_error(corpus, tmp_path, damage):
    cfg = tiny(corpus, tmp_path / "run", max_steps=3)
    train(cfg, progress=False)
    folder = tmp_path / "run" / "step_000003"
    if damage == "truncated weights":
        data = (folder / "model.safetensors").read_bytes()
        (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
        match = "model.safetensors is corrupt"
    elif damage == "garbage trainer state":
        (folder / "trainer_state.pt").write_bytes(b"not a torch file")
        match = "trainer_state.pt is corrupt"
    else:
        (folder / "config.json").write_text("{ not json")
        match = "config.json is corrupt"
    with pytest.raises(CheckpointError, match=match):
        train(cfg, resume=True, progress=False)


def test_resume_without_a_checkpoint_says_so(corpus, tmp_path):
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train(tiny(corpus, tmp_path / "empty"), resume=True, progress=False)


def test_cli_reports_bad_corpus_files_without_a_traceback(tmp_path, capsys):
    cases = {"missing.txt": None, "empty.txt": b"\n  \n\n", "latin1.txt": b"a fine day\ncaf\xe9 au lait\n"}
    expected = {"missing.txt": "does not exist", "empty.txt": "is empty",
                "latin1.txt": "is not UTF-8: byte 0xe9 at line 2"}
    for name, data in cases.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        assert main(["--preset", "cpu", "--corpus", str(path), "--out-dir", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and expected[name] in err and "Traceback" not in err


@pytest.mark.parametrize("flags, message", [
    (["--max-length", "128"], "max_length=128 is above the position table's 64 rows"),
    (["--mlm-probability", "0"], "strictly between 0 and 1"),
    (["--mlm-probability", "1.2"], "strictly between 0 and 1"),
    (["--num-heads", "5"], "divisible by num_heads"),
])
def test_cli_rejects_bad_settings_with_a_clear_message(flags, message, capsys):
    assert main(flags) == 2
    assert message in capsys.readouterr().err


def test_settings_come_from_preset_then_json_then_flags(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"lr": 0.002, "batch_size": 32, "seed": 9}))
    cfg, args = config_from_args(["--preset", "cpu", "--config", str(path), "--seed", "11", "--resume",
                                  "--compile"])
    assert cfg == replace(preset("cpu"), lr=0.002, batch_size=32, seed=11, compile=True)
    assert args.resume
    path.write_text(json.dumps({"learning_rate": 0.1}))
    with pytest.raises(ValueError, match="unknown pre-training setting.*learning_rate"):
        config_from_args(["--config", str(path)])


def test_every_setting_has_a_flag_with_help_text():
    helps = {a.dest: a.help for a in build_parser()._actions}
    for f in fields(PretrainConfig):
        assert helps.get(f.name), f"--{f.name.replace('_', '-')} has no help text (one comment per field)"


def test_presets_build_valid_models():
    for name in ("course", "cpu", "bert-base"):
        preset(name).encoder_config()
    assert preset("bert-base").hidden_size == 768 and preset("bert-base").num_layers == 12
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_length_grouping_cuts_padding_and_window_1_gives_plain_shuffled_batches():
    from encoder_lib.pretrain.batches import BatchPlan

    g = torch.Generator().manual_seed(0)
    rows = [[1] * int(n) for n in torch.randint(3, 60, (16 * 60,), generator=g)]
    grouped, plain = BatchPlan(rows, 16, seed=4), BatchPlan(rows, 16, seed=4, group_window=1)

    def padding(plan):   # padded tokens per real token over one epoch
        batches = [plan.indices(k).tolist() for k in range(plan.steps_per_epoch)]
        return sum(len(b) * max(len(rows[i]) for i in b) for b in batches) / sum(len(r) for r in rows), batches

    ratio_grouped, batches_grouped = padding(grouped)
    ratio_plain, batches_plain = padding(plain)
    assert ratio_grouped < 1.2 < 1.5 < ratio_plain
    for batches in (batches_grouped, batches_plain):          # every sentence once per epoch
        assert sorted(i for b in batches for i in b) == list(range(len(rows)))
    order = torch.randperm(len(rows), generator=torch.Generator().manual_seed(4 * 100_003)).tolist()
    chunks = {frozenset(order[k:k + 16]) for k in range(0, len(order), 16)}
    assert {frozenset(b) for b in batches_plain} == chunks, "window 1 should keep the shuffled order's batches"
