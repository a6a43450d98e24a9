"""The fine-tuning data: WordNet supersense splits or your own TSV files, checked, then
tokenized once and cut into padded batches."""
from __future__ import annotations

import csv
from pathlib import Path

import torch

from ..data import supersense
from ..data.supersense import LabelledSet
from ..tokenizer import WordPieceTokenizer


def read_tsv(path: str | Path, label_names: tuple[str, ...]) -> LabelledSet:
    """A labelled set from a TSV file of ``text<TAB>label`` lines (label = a class name)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no data file at {path}")
    index = {name: i for i, name in enumerate(label_names)}
    texts, labels = [], []
    with open(path, encoding="utf-8", newline="") as f:
        for line_no, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 2:
                raise ValueError(f"{path}, line {line_no}: expected 'text<TAB>label', got {len(row)} field(s)")
            text, label = row[0].strip(), row[1].strip()
            if label not in index:
                shown = ", ".join(label_names[:8]) + (", ..." if len(label_names) > 8 else "")
                raise ValueError(f"{path}, line {line_no}: label {label!r} is not in the task's label set "
                                 f"({len(label_names)} labels: {shown})")
            texts.append(text)
            labels.append(index[label])
    return LabelledSet(tuple(texts), tuple(labels), tuple(label_names), tuple("" for _ in texts))


def check_dataset(data: LabelledSet, name: str, label_names: tuple[str, ...]) -> None:
    """Clear errors for an empty set, labels outside the label set, or empty texts."""
    if len(data) == 0:
        raise ValueError(f"the {name} set is empty: there is nothing to "
                         f"{'train on' if name == 'training' else 'evaluate on'}")
    if tuple(data.label_names) != tuple(label_names):
        raise ValueError(f"the {name} set uses another label set ({len(data.label_names)} labels) "
                         f"than the task ({len(label_names)} labels)")
    bad = [(i, y) for i, y in enumerate(data.labels)
           if not isinstance(y, int) or isinstance(y, bool) or not 0 <= y < len(label_names)]
    if bad:
        i, y = bad[0]
        raise ValueError(f"the {name} set has {len(bad)} label(s) outside the label set "
                         f"0..{len(label_names) - 1}, e.g. item {i}: {y!r}")
    empty = [i for i, t in enumerate(data.texts) if not isinstance(t, str) or not t.strip()]
    if empty:
        raise ValueError(f"the {name} set has {len(empty)} empty text(s), e.g. item {empty[0]}")


def load_datasets(config) -> tuple[LabelledSet, LabelledSet, LabelledSet | None]:
    """(train, dev, test or None) as the config asks: WordNet supersenses by default,
    or the TSV files it names."""
    names = supersense.label_names(config.task)
    if config.train_file:
        train = read_tsv(config.train_file, names)
        dev = read_tsv(config.dev_file, names)
        test = read_tsv(config.test_file, names) if config.test_file else None
        return train, dev, test
    train = supersense.load("train", config.task, config.train_size, seed=config.data_seed)
    dev = supersense.load("dev", config.task, config.dev_size, seed=config.data_seed)
    test = (None if config.test_size == 0 else
            supersense.load("test", config.task, config.test_size, seed=config.data_seed))
    return train, dev, test


def length_pooled_batches(lengths: list[int], batch_size: int, generator: torch.Generator,
                          pool: int = 16) -> list[list[int]]:
    """One epoch's batches of item indices, in random order. Items are shuffled, then
    sorted by length within pools of ``pool`` batches, so a batch holds items of similar
    length and wastes little time on padding (about 2x faster on a CPU)."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    batches = []
    for start in range(0, len(order), batch_size * pool):
        chunk = sorted(order[start:start + batch_size * pool], key=lambda i: lengths[i])
        batches += [chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


class Encoded:
    """A labelled set tokenized once: token ids per item (no padding yet) and labels.

    What the fine-tuning loop needs of a data set (``EncodedPairs`` has the same):
    ``len``, ``labels`` (n,), ``lengths`` (tokens per item, to batch similar lengths),
    ``shuffled_batches`` and ``batch(index, device)``, a dict of tensors with "labels"."""

    def __init__(self, data: LabelledSet, tokenizer: WordPieceTokenizer, max_length: int):
        self.ids = tokenizer(list(data.texts), max_length=max_length, padding=False,
                             return_tensors=None)["input_ids"]
        self.labels = torch.tensor(data.labels, dtype=torch.long)   # (n,)
        self.lengths = [len(r) for r in self.ids]
        self.pad_id = tokenizer.pad_token_id

    def __len__(self) -> int:
        return len(self.ids)

    def shuffled_batches(self, batch_size: int, generator: torch.Generator, pool: int = 16) -> list[list[int]]:
        """One epoch's batches of item indices (see ``length_pooled_batches``)."""
        return length_pooled_batches(self.lengths, batch_size, generator, pool)

    def batch(self, index: list[int] | torch.Tensor, device: torch.device) -> dict:
        """Items ``index`` padded to their longest: input_ids, attention_mask (batch, seq), labels (batch,)."""
        rows = [self.ids[i] for i in index]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, :len(r)] = torch.tensor(r)
            mask[i, :len(r)] = 1
        return {"input_ids": ids.to(device), "attention_mask": mask.to(device),
                "labels": self.labels[index].to(device)}
