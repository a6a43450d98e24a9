"""Checkpoints of a pre-training run: written whole or not at all, read with clear errors.

A checkpoint is a folder ``step_000500/`` holding

* ``model.safetensors``   the weights (the tied embedding table stored once),
* ``config.json``         the PretrainConfig, the EncoderConfig and the code version,
* ``history.json``        the losses so far,
* ``trainer_state.pt``    optimizer, LR scheduler, gradient scaler and RNG states, the step.

It is written into a temporary folder first and renamed into place, and ``LATEST``
(the name of the newest one) is replaced by a rename too, so an interrupted run never
leaves a half-written checkpoint behind: resuming finds the last complete one.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_model, save_model

from ..model import EncoderConfig, EncoderForMaskedLM
from .config import PretrainConfig

LATEST = "LATEST"


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt or from another configuration."""


def write_json(path: Path, value) -> None:
    """Write JSON through a temporary file and a rename (never a half-written file)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def save_weights(model: EncoderForMaskedLM, folder: Path, dtype: torch.dtype = torch.float32) -> None:
    """model.safetensors (in ``dtype``) and config.json's encoder part, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if dtype == torch.float32:
        save_model(model, str(folder / "model.safetensors"))
    else:
        copy = EncoderForMaskedLM(model.config)
        copy.load_state_dict(model.state_dict())
        save_model(copy.to(dtype), str(folder / "model.safetensors"))


def save_checkpoint(out_dir: Path, step: int, model: EncoderForMaskedLM, config: PretrainConfig,
                    history: dict, trainer_state: dict, code_version: str, keep: int = 2) -> Path:
    """Write ``out_dir/step_{step:06d}/`` atomically, point LATEST at it, prune old ones."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"step_{step:06d}"
    tmp = Path(tempfile.mkdtemp(prefix=f".step_{step:06d}.", dir=out_dir))
    tmp.chmod(0o755)
    try:
        save_model(model, str(tmp / "model.safetensors"))
        write_json(tmp / "config.json", run_config_json(model.config, config, code_version, step))
        write_json(tmp / "history.json", history)
        torch.save(trainer_state, tmp / "trainer_state.pt")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    latest_tmp = out_dir / f".{LATEST}.tmp"
    latest_tmp.write_text(final.name + "\n")
    os.replace(latest_tmp, out_dir / LATEST)
    for old in sorted(out_dir.glob("step_*"))[:-keep]:
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def run_config_json(encoder_config: EncoderConfig, config: PretrainConfig, code_version: str,
                    step: int) -> dict:
    return {"encoder": encoder_config.to_dict(), "pretrain": config.to_dict(), "step": step,
            "code_version": code_version, "format": "encoder_lib.pretrain/1"}


def latest_checkpoint(out_dir: Path) -> Path:
    """The newest complete checkpoint in ``out_dir`` (a clear error if there is none)."""
    out_dir = Path(out_dir)
    pointer = out_dir / LATEST
    if not pointer.is_file():
        raise CheckpointError(f"nothing to resume: {out_dir} has no checkpoint ({LATEST} is missing); "
                              "start the run without --resume")
    folder = out_dir / pointer.read_text().strip()
    if not folder.is_dir():
        raise CheckpointError(f"{pointer} names {folder.name}, which is missing; the run folder was "
                              "edited by hand: delete it and start again")
    return folder


def read_run_config(folder: Path) -> dict:
    path = Path(folder) / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["encoder"], data["pretrain"]                      # noqa: B018 (both must be there)
        return data
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {folder} has no config.json") from None
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise CheckpointError(f"checkpoint {folder}: config.json is corrupt ({err}); "
                              "resume from an older checkpoint or start again") from None


def load_weights(model: EncoderForMaskedLM, folder: Path) -> None:
    """Fill ``model`` from ``folder/model.safetensors`` (any float dtype), with clear errors."""
    path = Path(folder) / "model.safetensors"
    if not path.is_file():
        raise CheckpointError(f"checkpoint {folder} has no model.safetensors")
    try:
        missing, unexpected = load_model(model, str(path), strict=False)
    except Exception as err:   # safetensors' own error types for truncated or garbled files
        raise CheckpointError(f"{path} is corrupt or not a safetensors file ({str(err)[:200]}); "
                              "resume from an older checkpoint or start again") from None
    missing = [m for m in missing if m != "mlm_head.word_embeddings.weight"]   # tied: stored once
    if missing or unexpected:
        raise CheckpointError(f"{path} does not fit this model: missing {missing[:6]}, "
                              f"unexpected {unexpected[:6]}")


def load_checkpoint(folder: Path, model: EncoderForMaskedLM, config: PretrainConfig) -> tuple[dict, dict]:
    """Check ``folder`` was made with ``config``, load the weights into ``model``;
    returns (trainer_state, history)."""
    folder = Path(folder)
    saved = read_run_config(folder)
    try:
        saved_config = PretrainConfig.from_dict(saved["pretrain"])
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint {folder}: its settings are unreadable ({err})") from None
    diffs = config.differences(saved_config)
    if diffs:
        raise CheckpointError(f"checkpoint {folder} was made with another configuration, so this run "
                              "cannot continue it:\n  " + "\n  ".join(diffs) +
                              "\nuse the same settings, or a new --out-dir to start a new run")
    load_weights(model, folder)
    try:
        state = torch.load(folder / "trainer_state.pt", map_location="cpu", weights_only=False)
        state["step"], state["optimizer"]                       # noqa: B018
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {folder} has no trainer_state.pt") from None
    except Exception as err:
        raise CheckpointError(f"checkpoint {folder}: trainer_state.pt is corrupt ({str(err)[:200]}); "
                              "resume from an older checkpoint or start again") from None
    try:
        history = json.loads((folder / "history.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"checkpoint {folder}: history.json is unreadable ({err})") from None
    return state, history


def load_model_folder(folder: str | Path, device: str | torch.device | None = None) -> EncoderForMaskedLM:
    """An EncoderForMaskedLM (fp32, eval mode) from a folder with config.json and model.safetensors
    (a checkpoint, a run's final/ or the shipped course checkpoint)."""
    folder = Path(folder)
    saved = read_run_config(folder)
    model = EncoderForMaskedLM(EncoderConfig(**saved["encoder"]))
    load_weights(model, folder)
    return model.float().to(device or "cpu").eval()
