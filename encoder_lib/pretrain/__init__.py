"""Masked-LM pre-training: the config and its presets, the training loop, checkpoints.

    from encoder_lib.pretrain import preset, train
    train(preset("cpu", out_dir="runs/laptop"))

or from a shell: ``python -m encoder_lib.pretrain --preset cpu --out-dir runs/laptop``.
"""
from .checkpoint import CheckpointError, load_model_folder
from .config import PRESETS, PretrainConfig, preset
from .train import train

__all__ = ["CheckpointError", "PRESETS", "PretrainConfig", "load_model_folder", "preset", "train"]
