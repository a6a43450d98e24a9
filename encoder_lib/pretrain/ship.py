"""Ship a finished pre-training run as a library checkpoint, with its model card.

    python -m encoder_lib.pretrain.ship runs/course encoder_lib/checkpoints/course

copies the run's ``final/`` weights, config and history and the vocabulary into the
destination and writes ``MODEL_CARD.md`` from them (``render_card``: everything on
the card is read from config.json and history.json, so a test can check the card
and the files agree). ``make checkpoint`` runs the pre-training and then this.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from ..model import EncoderConfig, EncoderForMaskedLM
from ..tokenizer import WordPieceTokenizer

COMMAND = ("make checkpoint   # = rm -rf runs/course && python -m encoder_lib.pretrain --preset course "
           "--out-dir runs/course && python -m encoder_lib.pretrain.ship runs/course encoder_lib/checkpoints/course")
FILES = ("model.safetensors", "config.json", "history.json")
RESULT = "heldout.json"      # the shipped weights scored on the held-out set, and the baseline
FIRST_STEPS = "first_steps_cpu.json"   # the run's first steps re-run on the CPU, for the reproduction test
FIRST_STEPS_N = 3


def first_steps_on_cpu(pre: dict, work_dir: str | Path, steps: int = FIRST_STEPS_N) -> list[dict]:
    """The first ``steps`` training losses of the run's settings, re-run on the CPU in fp32.

    A GPU run draws its dropout masks from CUDA's generator and computes in bf16, so its
    own first losses cannot be re-computed on a CPU; these can, by any machine, and a test
    re-runs them to show the command and code still start the run that made the weights."""
    from .config import PretrainConfig
    from .train import train
    config = PretrainConfig.from_dict({**pre, "out_dir": str(Path(work_dir) / "first_steps"), "device": "cpu",
                                       "heldout_sentences": 64, "compile": False})
    history = train(config, progress=False, stop_at_step=steps)["history"]["train"]
    return [{"step": r["step"], "loss": r["loss"]} for r in history]


def _load_note(run: dict) -> str:
    load = run.get("load_average_at_start")
    if load is None:
        return "Other jobs on the machine were not recorded."
    return (f"Load average when the run started: {load:.2f} (other work on the machine slows the run "
            f"and lengthens the time below; it does not change the result).")


def _launched_note(run: dict) -> str:
    if not run.get("launched_by"):
        return ""
    return (f"\n- This file's run was started by {run['launched_by']}. Like the command above, that "
            "calls `train()` with the settings below.")


def _first_steps_note(run: dict) -> str:
    if run["device"] == "cpu":
        return "The run itself was on the CPU, so these are also its own first losses."
    return (f"The run itself was on {run['device']} in {run['precision']}: there dropout masks come from "
            "the GPU's random generator and sums are rounded differently, so its own first losses "
            "(history.json) differ slightly and only a GPU can re-compute them.")


def _fmt_seconds(s: float) -> str:
    return f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def evaluate_shipped(folder: str | Path) -> dict:
    """Score the weights in ``folder`` (as stored, e.g. fp16, loaded as fp32) on the
    held-out set, next to the unigram baseline counted on the pre-training text."""
    from ..data.corpus import pretraining_corpus
    from ..data.heldout import heldout_batches, unigram_baseline
    from ..model import masked_lm_metrics
    from .checkpoint import load_model_folder

    folder = Path(folder)
    pre = json.loads((folder / "config.json").read_text(encoding="utf-8"))["pretrain"]
    tokenizer = WordPieceTokenizer.from_pretrained(folder)
    batches = heldout_batches(tokenizer, pre["max_length"], pre["heldout_sentences"], pre["heldout_seed"],
                              pre["mlm_probability"])
    model = masked_lm_metrics(load_model_folder(folder), batches)
    rows = [tokenizer.encode(s, max_length=pre["max_length"]) for s in pretraining_corpus(pre["corpus"])]
    baseline = unigram_baseline(rows, batches, tokenizer.vocab_size, tokenizer.all_special_ids)
    return {"model": {k: round(v, 5) for k, v in model.items()},
            "baseline": {k: round(v, 5) for k, v in baseline.items()},
            "heldout": {"sentences": pre["heldout_sentences"], "seed": pre["heldout_seed"],
                        "split": "dev, minus sentences also in the train text"}}


def render_card(config: dict, history: dict, result: dict, first: dict, size_bytes: int) -> str:
    """MODEL_CARD.md's text from the checkpoint's config.json, history.json, heldout.json and
    first_steps_cpu.json."""
    enc, pre, run = config["encoder"], config["pretrain"], history["run"]
    final, base = result["model"], result["baseline"]
    n_params = EncoderForMaskedLM(EncoderConfig(**enc)).num_parameters
    rows = "\n".join(f"| `{k}` | `{json.dumps(v)}` |" for k, v in pre.items())
    curve = "\n".join(f"| {r['step']} | {r['loss']:.3f} | {r['perplexity']:.1f} | {r['accuracy']:.3f} |"
                      for r in history["eval"])
    return f"""# Course checkpoint: a small BERT-style encoder pre-trained on WordNet

Made by this project's own pre-training command; part 3 of the course fine-tunes it.

    from encoder_lib.pretrained import load_pretrained, load_masked_lm
    encoder, tokenizer = load_pretrained("course")     # H = Encode_theta(x)
    mlm, tokenizer = load_masked_lm("course")          # + the tied output layer, Pr(. | x)

## Result on the held-out masked-LM set

{final['tokens']} masked positions in {pre['heldout_sentences']} sentences of the *dev* split
(never seen in pre-training), masked once with seed {pre['heldout_seed']}
(`encoder_lib.data.heldout`), so the numbers compare across runs and machines.

| model | loss (nats / masked token) | perplexity | masked-token accuracy |
|---|---|---|---|
| this checkpoint (step {pre['max_steps']}, as shipped) | {final['loss']:.3f} | {final['perplexity']:.1f} | {final['accuracy']:.3f} |
| unigram-frequency baseline | {base['loss']:.3f} | {base['perplexity']:.1f} | {base['accuracy']:.3f} |

The baseline predicts every masked token from the training text's token frequencies
(add-one smoothed), ignoring the context; its accuracy is that of always guessing the
most frequent token.

Held-out loss during the run (the run's own evaluations, in {run['precision']}; the table above scores
the shipped file on the held-out set as the library now defines it, which the tests
re-check):

| step | loss | perplexity | accuracy |
|---|---|---|---|
{curve}

## How it was made

- Command: `{COMMAND}`{_launched_note(run)}
- Data: the definitions and example sentences of the WordNet 3.0 *train* synsets
  (`encoder_lib.data.splits.pretraining_sentences("train")`), masked 15 % with BERT's
  80/10/10 rule, new masks every step.
- Seed: {pre['seed']} (initialisation, batch order, masks and dropout all follow from it).
- Code version: `{config['code_version']}`
- Machine: {run['machine']}; {run['processes']} process(es) x {run['threads_per_process']} thread(s),
  {run['device']}, {run['precision']}, torch {run['torch']}. {_load_note(run)}
- Time: {_fmt_seconds(run["seconds"])} for the pre-training run ({pre['max_steps']} steps of
  {pre['batch_size']} sentences, held-out evaluations and checkpoints included).
- Reproduction check: `{FIRST_STEPS}` holds the run's first {len(first['steps'])} training losses re-run
  on the CPU in fp32 ({', '.join(f"{r['loss']:.4f}" for r in first['steps'])}), which
  `tests/test_course_checkpoint.py` re-computes. {_first_steps_note(run)}

## Model

BERT architecture (post-LayerNorm, GELU, learned absolute positions), BERT uncased
WordPiece vocabulary: {enc['num_layers']} layers, d = {enc['hidden_size']}, {enc['num_heads']} heads,
feed-forward {enc['intermediate_size']}, {enc['max_position']} positions, vocabulary {enc['vocab_size']};
{n_params / 1e6:.2f} M parameters, the output layer tied to the token embeddings. Stored in
{config['pretrain']['save_dtype']} ({size_bytes / 1e6:.1f} MB); loaded as float32.

## Settings (`PretrainConfig`)

| setting | value |
|---|---|
{rows}

## Limits

A teaching model: tiny, trained for minutes on one small corpus of dictionary
definitions. Its guesses are far from a real BERT's; sentences longer than
{enc['max_position']} tokens do not fit. WordNet's licence is in `encoder_lib/data/wordnet/LICENSE`.
"""


def ship(run_dir: str | Path, dest: str | Path, launched_by: str | None = None) -> Path:
    """Copy ``run_dir/final`` into ``dest`` and write the held-out score, the CPU re-run of
    the first steps and the model card. ``launched_by`` says what started the run when it
    was not the preset's command (recorded in the shipped history.json's ``run``)."""
    run_dir, dest = Path(run_dir), Path(dest)
    final = run_dir / "final"
    missing = [f for f in FILES if not (final / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{final} lacks {', '.join(missing)}: did the run finish?")
    dest.mkdir(parents=True, exist_ok=True)
    for f in FILES:
        if f == "history.json" and launched_by:            # the run's history, noting what started it
            history = json.loads((final / f).read_text(encoding="utf-8"))
            history["run"]["launched_by"] = launched_by
            (dest / f).write_text(json.dumps(history, indent=1) + "\n", encoding="utf-8")
        else:
            shutil.copyfile(final / f, dest / f)
    shutil.copyfile(WordPieceTokenizer.from_pretrained().vocab_file, dest / "vocab.txt")
    (dest / RESULT).write_text(json.dumps(evaluate_shipped(dest), indent=1) + "\n", encoding="utf-8")
    pre = json.loads((dest / "config.json").read_text(encoding="utf-8"))["pretrain"]
    with tempfile.TemporaryDirectory() as work:
        first = {"device": "cpu", "precision": "fp32", "steps": first_steps_on_cpu(pre, work)}
    (dest / FIRST_STEPS).write_text(json.dumps(first, indent=1) + "\n", encoding="utf-8")
    (dest / "MODEL_CARD.md").write_text(card_for(dest), encoding="utf-8")
    return dest


def card_for(folder: str | Path) -> str:
    folder = Path(folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    history = json.loads((folder / "history.json").read_text(encoding="utf-8"))
    result = json.loads((folder / RESULT).read_text(encoding="utf-8"))
    first = json.loads((folder / FIRST_STEPS).read_text(encoding="utf-8"))
    return render_card(config, history, result, first, (folder / "model.safetensors").stat().st_size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Copy a finished run into the library with its model card.")
    parser.add_argument("run_dir")
    parser.add_argument("dest")
    parser.add_argument("--launched-by", metavar="TEXT",
                        help="what started the run, when it was not the preset's command (shown on the card)")
    args = parser.parse_args(argv)
    try:
        print(f"shipped {ship(args.run_dir, args.dest, args.launched_by)}")
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
