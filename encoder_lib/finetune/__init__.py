"""Fine-tuning: adapt an encoder to a labelled task with a classification head.

``finetune(FinetuneConfig(...))`` is the loop (``finetune(WicConfig(...))`` the same loop
for word-in-context pairs); ``python -m encoder_lib.finetune`` the command; ``load_start``
the starting points (random, the course checkpoint, MiniLM).
"""
from .config import FinetuneConfig, WicConfig
from .metrics import accuracy, macro_f1
from .model import CheckpointError, SequenceClassifier, load_start
from .train import FinetuneResult, evaluate, finetune

__all__ = ["CheckpointError", "FinetuneConfig", "FinetuneResult", "SequenceClassifier", "accuracy",
           "WicConfig", "evaluate", "finetune", "load_start", "macro_f1"]
