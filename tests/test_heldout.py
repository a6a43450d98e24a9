"""The held-out MLM set (dev split, masked once) and the unigram baseline."""
from __future__ import annotations

import math

import pytest
import torch

from encoder_lib import WordPieceTokenizer
from encoder_lib.data import heldout, splits
from encoder_lib.data.corpus import CorpusError, read_corpus


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer.from_pretrained()


def test_heldout_set_is_dev_text_never_seen_in_pretraining():
    sample = heldout.heldout_sentences(300)
    dev, train = set(splits.pretraining_sentences("dev")), set(splits.pretraining_sentences("train"))
    assert len(set(sample)) == 300 and set(sample) <= dev
    assert not set(sample) & train


def test_heldout_masks_are_the_same_on_every_call(tokenizer):
    a = heldout.heldout_batches(tokenizer, n=200)
    b = heldout.heldout_batches(tokenizer, n=200)
    assert len(a) == len(b) == 2
    for x, y in zip(a, b):
        for k in ("input_ids", "attention_mask", "labels"):
            assert torch.equal(x[k], y[k])
    n_masked = sum((x["labels"] != -100).sum().item() for x in a)
    n_real = sum(x["attention_mask"].sum().item() - 2 * len(x["attention_mask"]) for x in a)
    assert 0.1 < n_masked / n_real < 0.2
    other = heldout.heldout_batches(tokenizer, n=200, seed=99)
    assert [x["labels"].tolist() for x in a] != [y["labels"].tolist() for y in other]


def test_unigram_baseline_is_the_frequency_guess(tokenizer):
    rows = [[101, 5, 5, 5, 7, 102], [101, 5, 7, 9, 102]]        # 5 x4, 7 x2, 9 x1 (specials ignored)
    labels = torch.full((1, 4), -100)
    labels[0, :3] = torch.tensor([5, 7, 8])
    batch = {"labels": labels}
    m = heldout.unigram_baseline(rows, [batch], vocab_size=110, special_ids=[0, 100, 101, 102, 103])
    p = lambda c: (c + 1) / (7 + 110)                             # add-one smoothing over 110 ids
    assert m["loss"] == pytest.approx(-(math.log(p(4)) + math.log(p(2)) + math.log(p(0))) / 3)
    assert m["accuracy"] == pytest.approx(1 / 3)                  # always guessing 5
    assert m["tokens"] == 3


def test_read_corpus_skips_blank_lines_and_rejects_bad_files(tmp_path):
    good = tmp_path / "ok.txt"
    good.write_text("  first sentence \n\nsecond one\n", encoding="utf-8")
    assert read_corpus(good) == ["first sentence", "second one"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_corpus(tmp_path / "nope.txt")
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(CorpusError, match="empty"):
        read_corpus(tmp_path / "blank.txt")
    (tmp_path / "bad.txt").write_bytes(b"ok\nok\n\xff\xfe broken\n")
    with pytest.raises(CorpusError, match="not UTF-8: byte 0xff at line 3"):
        read_corpus(tmp_path / "bad.txt")
