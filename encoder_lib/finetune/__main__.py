"""``python -m encoder_lib.finetune``: fine-tune from the command line.

    python -m encoder_lib.finetune --init course --train-size 2000 --epochs 5
    python -m encoder_lib.finetune --init minilm --pooling mean --freeze-encoder
    python -m encoder_lib.finetune --config run.json --seed 1 --out-dir runs/seed1
    python -m encoder_lib.finetune --task wic --init minilm --train-size 2000

Settings come from the defaults of FinetuneConfig (of WicConfig with ``--task wic``),
then the JSON file of ``--config``, then the flags given (one flag per field). Bad
input ends with one clear line on stderr and exit status 2, not a stack trace.
"""
from __future__ import annotations

import argparse
import sys
import types
import typing
from dataclasses import MISSING, fields

from .config import WIC, FinetuneConfig, WicConfig, read_json


def _parse_optional_int(text: str) -> int | None:
    return None if text.lower() in ("none", "all") else int(text)


def _comments() -> dict[str, str]:
    """field name -> the comment after it in FinetuneConfig's source (the flag's help)."""
    import inspect
    import re
    found = (re.match(r"\s+(\w+): .*?#\s*(.*)$", line) for line in inspect.getsource(FinetuneConfig).splitlines())
    return {m.group(1): m.group(2).replace("%", "%%") for m in found if m}


def build_parser() -> argparse.ArgumentParser:
    wic_defaults = ", ".join(f"{f.name}={getattr(WicConfig(), f.name)!r}" for f in fields(WicConfig)
                             if getattr(WicConfig(), f.name) != getattr(FinetuneConfig(), f.name))
    parser = argparse.ArgumentParser(prog="python -m encoder_lib.finetune", description=__doc__.split("\n\n")[0],
                                     epilog=f"With --task wic the defaults differ: {wic_defaults}.")
    parser.add_argument("--config", help="a JSON file of FinetuneConfig settings (flags override it)")
    hints = typing.get_type_hints(FinetuneConfig)
    comments = _comments()
    for f in fields(FinetuneConfig):
        flag = "--" + f.name.replace("_", "-")
        hint = hints[f.name]
        default = f.default if f.default is not MISSING else None
        helptext = f"{comments.get(f.name, '')} (default: {default!r})"
        if hint is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=helptext)
            continue
        args = typing.get_args(hint)
        base = next((a for a in args if a is not type(None)), hint) if isinstance(hint, types.UnionType) else hint
        if base is int and type(None) in args:
            kind = _parse_optional_int
            helptext += " ('none' for all)"
        else:
            kind = base
        parser.add_argument(flag, type=kind, default=None, help=helptext)
    return parser


def config_from_args(argv: list[str] | None = None) -> FinetuneConfig:
    args = build_parser().parse_args(argv)
    values = read_json(args.config) if args.config else {}
    values.update({k: v for k, v in vars(args).items() if k != "config" and v is not None})
    return (WicConfig if values.get("task") == WIC else FinetuneConfig).from_dict(values)


def main(argv: list[str] | None = None) -> int:
    from .model import CheckpointError
    from .train import finetune
    try:
        config = config_from_args(argv)
        result = finetune(config)
    except (ValueError, FileNotFoundError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"best epoch {result.best_epoch}: dev accuracy {result.dev['accuracy']:.4f}, "
          f"macro-F1 {result.dev['macro_f1']:.4f}")
    if result.test is not None:
        print(f"test accuracy {result.test['accuracy']:.4f}, macro-F1 {result.test['macro_f1']:.4f} "
              f"({result.test['items']} items)")
    if config.out_dir:
        print(f"wrote {config.out_dir}/result.json and best_model.pt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
