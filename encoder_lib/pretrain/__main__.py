"""``python -m encoder_lib.pretrain``: masked-LM pre-training from the command line
(also under ``torchrun --nproc_per_node N``). ``--help`` lists every setting."""
from __future__ import annotations

import sys

import torch.distributed as dist

from ..data.corpus import CorpusError
from .checkpoint import CheckpointError
from .config import config_from_args
from .train import train


def main(argv: list[str] | None = None) -> int:
    try:
        config, args = config_from_args(argv)
        train(config, resume=args.resume)
    except (CorpusError, CheckpointError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
