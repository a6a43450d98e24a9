"""Pre-training text: the WordNet train split by default, or a plain-text file.

A corpus file holds one sentence per line, UTF-8; blank lines are skipped. Problems
are reported as errors that say what to do (missing file, empty file, bytes that are
not UTF-8, with the line they are on).
"""
from __future__ import annotations

from pathlib import Path

from . import splits


class CorpusError(ValueError):
    """The corpus cannot be used as it is; the message says why and what to do."""


def read_corpus(path: str | Path) -> list[str]:
    """The non-blank lines of a UTF-8 text file, stripped, in file order."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"corpus file {path} does not exist; give a plain-text file with one "
                                "sentence per line (or leave --corpus out to use the WordNet train split)")
    if not path.is_file():
        raise CorpusError(f"corpus {path} is not a file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise CorpusError(f"corpus {path} is not UTF-8: byte 0x{data[err.start]:02x} at line {line} "
                          f"(byte offset {err.start}) cannot be decoded; re-save the file as UTF-8, e.g. "
                          f"iconv -f latin1 -t utf-8 {path.name}") from None
    sentences = [s.strip() for s in text.splitlines()]
    sentences = [s for s in sentences if s]
    if not sentences:
        raise CorpusError(f"corpus {path} is empty: it has no non-blank line (one sentence per line)")
    return sentences


def pretraining_corpus(path: str | Path | None = None) -> list[str]:
    """The sentences to pre-train on: ``path``'s lines, or the WordNet train split's text."""
    if path is None:
        return splits.pretraining_sentences("train")
    return read_corpus(path)
