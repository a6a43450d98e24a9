"""Tests for encoder_lib.tokenizer: ids equal Hugging Face's BertTokenizerFast on the
same vocab.txt, batches match its padding / pairs / truncation, bad input is a clear
error. `transformers` is imported only here (a test-only dependency), offline."""
from __future__ import annotations

import inspect
import os
import random
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")        # never reach the hub from these tests
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from encoder_lib.tokenizer import WordPieceTokenizer, basic_tokenize  # noqa: E402

MAX_LEN = 512


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tok() -> WordPieceTokenizer:
    return WordPieceTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def hf(tok):
    """Hugging Face's BertTokenizerFast built from the same vocab.txt, offline.

    transformers 5 takes the file as ``vocab=`` and silently ignores ``vocab_file=``;
    transformers 4 takes ``vocab_file=``. We pass whichever the installed version reads
    and check that it really loaded our vocabulary."""
    transformers = pytest.importorskip("transformers")
    cls = transformers.BertTokenizerFast
    params = inspect.signature(cls.__init__).parameters
    key = "vocab" if "vocab" in params else "vocab_file"
    ref = cls(**{key: tok.vocab_file}, do_lower_case=True)
    assert len(ref) == tok.vocab_size
    assert ref.convert_tokens_to_ids(["hello", "##ing", "[MASK]"]) == tok.convert_tokens_to_ids(
        ["hello", "##ing", "[MASK]"])
    return ref


# ---------------------------------------------------------------------------
# The strings we compare on
# ---------------------------------------------------------------------------

HAND_WRITTEN = [
    "The quick brown fox jumps over the lazy dog.",
    "Hello, world!",
    "I can't believe it's already half past nine; we're late again.",
    "She sold seashells by the seashore, didn't she?",
    "Transformers map tokens to vectors: one row h_i per token.",
    "The encoder's output H has shape (m+1) x d.",
    "Don't panic -- the towel is in the bag (probably).",
    "He paid $1,234.56 for a 3.5\" floppy drive in 1998.",
    "Call me at +1 (555) 010-9999 or e-mail jane.doe@example.com.",
    "Visit https://www.example.org/path/to/page?query=1&lang=en#section for details.",
    "The ratio was 3:2, i.e. 60% vs. 40%.",
    "Prices rose 4.7% year-on-year; the Fed's target is 2%.",
    "A café in Zürich serves crème brûlée to naïve tourists.",
    "Ångström units measure wavelengths; ÅNGSTRÖM in capitals.",
    "Señor Muñoz lives in São Paulo, not in Bogotá.",
    "Mötley Crüe played at the Spın Café in İstanbul.",
    "Façade, coöperate, résumé, jalapeño, piñata and über.",
    "ΟΔΥΣΣΕΥΣ sailed home; Ὀδυσσεύς is the Greek spelling.",
    "Москва — столица России.",
    "北京是中国的首都。我爱自然语言处理！",
    "東京タワーは高い。カタカナとひらがな。",
    "서울은 한국의 수도입니다.",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "Emoji time 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇫🇷 ❤️ ✨",
    "I ❤ NY and ☕ in the morning ☀.",
    "Tabs\tand\nnewlines\r\nand\u000bvertical\u000cfeeds.",
    "Zero\u200bwidth\u200cjoiners\u200dand\ufeffBOM.",
    "NUL\x00bytes and \ufffd replacement and \x7f delete.",
    "Non\u00a0breaking\u2009thin\u3000ideographic spaces.",
    "Line\u2028separator and paragraph\u2029separator.",
    "Soft\u00adhyphen and right-to-left\u200fmark.",
    "",
    " ",
    "   \t \n  ",
    "\n\n\n",
    "\x00\x01\x02",
    "a",
    "A",
    "?",
    "...",
    "!!!???",
    "--",
    "''\"\"``",
    "(((nested)))",
    "[CLS] looks special but is it? [SEP]",
    "The [MASK] sat on the mat.",
    "lower-case [mask] is just text",
    "a[MASK]b[SEP]c",
    "[UNK] [PAD] [unused0] [unused999]",
    "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "antidisestablishmentarianism and floccinaucinihilipilification",
    "x" * 100,
    "x" * 101,
    "y" * 99 + "é",
    "z" * 100 + "é",
    "ab" * 60 + " short words after a very long one",
    "1,000,000 and 1.000.000 and 1 000 000 and 1_000_000",
    "3.14159265358979323846 2.71828 6.022e23 -273.15°C",
    "0x1F600 0b1010 0o777 1e-9",
    "10/03/2024 2024-03-10T12:34:56Z 12:34pm",
    "#hashtag @mention $TICKER &amp; <html> {json: true}",
    "C++ and C# and F# are languages; so is R.",
    "def f(x): return x**2 + 3*x - 1  # comment",
    "if (a && b || !c) { x += 1; } else { x -= 1; }",
    "~tilde ^caret |pipe \\backslash /slash `backtick",
    "«Guillemets» „Anführungszeichen“ “curly” ‘single’",
    "Em—dash, en–dash, minus − sign, and … ellipsis.",
    "© 2024 Acme™ Inc. ® All rights reserved §3 ¶2",
    "½ + ¼ = ¾; x² + y² = z²; H₂O",
    "ﬁnance ﬂow ﬀ ligatures and ＦＵＬＬＷＩＤＴＨ letters",
    "Ⅻ roman numeral and ① circled digit",
    "Stra\u00dfe and STRASSE and straße",
    "The DNA of E. coli; the U.S.A.; Ph.D.; a.m./p.m.",
    "MiXeD CaSe WoRdS LiKe iPhone, eBay and McDonald's",
    "ALL CAPS SENTENCE WITH NUMBERS 123 AND SYMBOLS !@#",
    "word" + "\u0301" * 5 + " stacked accents",
    "e\u0301 versus \u00e9 (decomposed and composed)",
    "Private use \ue000\uf8ff and astral private \U000f0000.",
    "Unassigned \u0378 and \U0001ffff code points.",
    "Musical 𝄞 and math 𝔸𝔹ℂ and 𝒳 script letters",
    "Egyptian 𓂀 and cuneiform 𒀀 and linear B 𐀀",
    "Hangul jamo ᄀᄁ and compatibility ㄱㄲ",
    "Thai ๑๒๓ digits and Arabic ٠١٢ digits and Devanagari १२३",
    "İ ı I i: Turkish dotted and dotless i",
    "Σίσυφος ΣΊΣΥΦΟΣ final sigma ς",
    "Ǆ ǅ ǆ digraphs and ﬀ ligature",
    "It's 5 o'clock somewhere, y'all.",
    "rock'n'roll, ma'am, o'er, 'tis",
    "A sentence with trailing spaces    ",
    "    A sentence with leading spaces",
    "multiple     internal     spaces",
    "The weather in Reykjavík is cold; in Kraków it's mild.",
    "Schrödinger's cat and Gödel's theorem and Erdős numbers.",
    "Dvořák and Janáček composed; Smetana too.",
    "Łódź, Gdańsk and Wrocław are Polish cities.",
    "Nguyễn Thị Minh Khai Street in Hồ Chí Minh City.",
    "The 2nd, 3rd and 4th place finishers were 1st-time entrants.",
    "Bank of the river vs. bank account: same word, different senses.",
    "He sat on the bank of the river and watched the water.",
    "She deposited the cheque at the bank before noon.",
]

WORDS = (
    "the a an of to in on at by for with from about into over under after before between "
    "river bank money account water tree house school teacher student computer language model "
    "token vector matrix layer attention head encoder decoder sentence word meaning context "
    "run runs running ran quickly slowly happy unhappy happiness unbelievable reconsider "
    "internationalization photosynthesis mitochondria electromagnetic thermodynamics "
    "she he they we you it is was were be been being have has had do does did not "
    "beautiful terrible enormous tiny ancient modern political economic scientific "
    "Paris London Tokyo Amazon Google Einstein Shakespeare Beethoven Tolkien "
    "café naïve résumé Ångström Zürich São jalapeño façade coöperate Dvořák "
    "don't can't won't it's we're they'll I'd y'all o'clock "
    "COVID-19 e-mail state-of-the-art well-known x-ray T-shirt "
    "北京 東京 서울 😀 👍 ❤️ ★ → ∑ ∞ ± © ™"
).split()
PUNCT = [".", ",", "!", "?", ";", ":", "...", " -", " (", ")", '"', "'", " —", "/"]


def _generated_sentences(n: int, seed: int = 1234) -> list[str]:
    """English-like sentences from a fixed word list, with numbers, odd casing and punctuation."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        words = []
        for _ in range(rng.randint(1, 30)):
            r = rng.random()
            if r < 0.08:
                w = rng.choice([f"{rng.randint(0, 10**7):,}", f"{rng.uniform(-1000, 1000):.{rng.randint(0, 4)}f}",
                                str(rng.randint(0, 3000)), f"{rng.randint(1, 99)}%", f"${rng.randint(1, 999)}.99",
                                f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d}"])
            else:
                w = rng.choice(WORDS)
                casing = rng.random()
                if casing < 0.1:
                    w = w.upper()
                elif casing < 0.3:
                    w = w.capitalize()
            if rng.random() < 0.15:
                w += rng.choice(PUNCT)
            words.append(w)
        sentence = " ".join(words)
        if rng.random() < 0.1:
            sentence = sentence.replace(" ", rng.choice(["\t", "\n", "  ", "\u00a0", "\r\n"]), 2)
        out.append(sentence[:1].upper() + sentence[1:] + rng.choice([".", "!", "?", "", "..."]))
    return out


# Blocks to draw random characters from: scripts, marks, symbols, controls, spaces.
_FUZZ_RANGES = [
    (0x20, 0x7E), (0x00, 0x1F), (0x7F, 0x9F), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF),
    (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF),
    (0x1E00, 0x1FFF), (0x2000, 0x206F), (0x2070, 0x22FF), (0x2E00, 0x2E7F), (0x3000, 0x30FF),
    (0x3400, 0x3410), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xE010), (0xF900, 0xFAFF),
    (0xFB00, 0xFB4F), (0xFE00, 0xFE6F), (0xFF00, 0xFFEF), (0xFFF0, 0xFFFF), (0x10000, 0x1007F),
    (0x1D400, 0x1D7FF), (0x1F300, 0x1FAFF), (0x20000, 0x20100), (0x2B800, 0x2B9FF),
    (0x2F800, 0x2F810), (0xE0000, 0xE007F),
]


def _unicode_fuzz(n: int, seed: int = 99) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(0, 40)):
            if rng.random() < 0.35:
                chars.append(rng.choice("abcdefghijklmnopqrstuvwxyz ABCXYZ 0123456789 "))
            else:
                lo, hi = rng.choice(_FUZZ_RANGES)
                chars.append(chr(rng.randint(lo, hi)))
        out.append("".join(chars))
    return out


def _long_words(seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for length in (98, 99, 100, 101, 102, 150, 300):
        for alphabet in ("abcdefghij", "é", "xyz123", "北"):
            word = "".join(rng.choice(alphabet) for _ in range(length))
            out.append(word)
            out.append(f"before {word} after")
            out.append(f"{word},{word[:5]}")
    return out


def _wordnet_sentences(n: int, seed: int = 2024) -> list[str]:
    """A seeded sample of WordNet glosses and examples (real English sentences)."""
    try:
        from encoder_lib.data import wordnet
        sentences = list(wordnet.sentences())
    except (ImportError, AttributeError, FileNotFoundError):
        return []
    return random.Random(seed).sample(sentences, min(n, len(sentences)))


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[str]]:
    wordnet = _wordnet_sentences(3000)
    return {
        "wordnet": wordnet,
        "generated": _generated_sentences(1500 if wordnet else 3000),
        "hand_written": HAND_WRITTEN,
        "unicode_fuzz": _unicode_fuzz(1000),
        "long_words": _long_words(),
    }


# ---------------------------------------------------------------------------
# Ids equal Hugging Face's
# ---------------------------------------------------------------------------

def _first_mismatches(tok, hf, strings, ours, theirs, k=5):
    lines = []
    for s, a, b in zip(strings, ours, theirs):
        if a != b:
            lines.append(f"{s!r}\n  ours: {tok.convert_ids_to_tokens(a)}\n  HF:   {hf.convert_ids_to_tokens(b)}")
            if len(lines) == k:
                break
    return "\n".join(lines)


def test_ids_equal_hugging_face_on_at_least_2000_varied_strings(tok, hf, corpus):
    strings = [s for group in corpus.values() for s in group]
    assert len(strings) >= 2000
    ours = [tok.encode(s) for s in strings]
    theirs = hf(strings, truncation=True, max_length=MAX_LEN)["input_ids"]
    bad = sum(a != b for a, b in zip(ours, theirs))
    assert bad == 0, f"{bad} of {len(strings)} strings differ:\n" + _first_mismatches(tok, hf, strings, ours, theirs)


@pytest.mark.parametrize("group", ["wordnet", "generated", "hand_written", "unicode_fuzz", "long_words"])
def test_tokens_equal_hugging_face_per_group(tok, hf, corpus, group):
    strings = corpus[group]
    if not strings:
        pytest.skip(f"no {group} strings available")
    for s in strings:
        assert tok.tokenize(s) == hf.tokenize(s), repr(s)


def test_the_model_tokenizer_json_agrees_with_the_vocab_file(tok, corpus):
    # The model ships a tokenizer.json too; with its fixed 128-token padding and truncation
    # turned off it must give the same ids as BertTokenizerFast on vocab.txt, and ours.
    tokenizers = pytest.importorskip("tokenizers")
    ref = tokenizers.Tokenizer.from_file(str(Path(tok.vocab_file).parent / "tokenizer.json"))
    ref.no_padding()
    ref.no_truncation()
    strings = corpus["hand_written"] + corpus["unicode_fuzz"][:300] + corpus["generated"][:300]
    theirs = [e.ids for e in ref.encode_batch(strings)]
    assert [tok.encode(s, truncation=False) for s in strings] == theirs


def test_basic_tokenization_of_every_code_point_matches_hugging_face(hf):
    # Each character between letters: shows whether it is dropped, becomes a space, is
    # split off as punctuation or a CJK ideograph, loses its accent or changes case.
    # Our tokenizer follows the running Python's Unicode database (Python 3.10 has
    # Unicode 13, 3.11 Unicode 14, ...); a code point that database does not know yet
    # (category Cn) may be a letter with a lower-case form in Hugging Face's newer tables,
    # so only the code points this Python knows are compared.
    bk = hf.backend_tokenizer
    chunk = 512
    bad = []
    for start in range(0, 0x110000, chunk):
        cps = [c for c in range(start, start + chunk)
               if not 0xD800 <= c <= 0xDFFF and unicodedata.category(chr(c)) != "Cn"]
        text = " ".join("a" + chr(c) + "Zb" for c in cps)
        theirs = [w for w, _ in bk.pre_tokenizer.pre_tokenize_str(bk.normalizer.normalize_str(text))]
        if basic_tokenize(text) != theirs:
            for c in cps:
                one = "a" + chr(c) + "Zb"
                ref = [w for w, _ in bk.pre_tokenizer.pre_tokenize_str(bk.normalizer.normalize_str(one))]
                if basic_tokenize(one) != ref:
                    bad.append(f"U+{c:04X} {unicodedata.name(chr(c), '?')}: ours {basic_tokenize(one)} HF {ref}")
    assert not bad, f"{len(bad)} code points differ, e.g.:\n" + "\n".join(bad[:20])


# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------

def test_basic_tokenize_cleans_lowercases_strips_accents_and_splits(tok):
    assert basic_tokenize("Héllo, WORLD!\t北京") == ["hello", ",", "world", "!", "北", "京"]
    assert basic_tokenize("naïve Ångström café") == ["naive", "angstrom", "cafe"]
    assert basic_tokenize("a\x00b\ufffdc\x07d") == ["abcd"]
    assert basic_tokenize("x\ty\nz\r\nw") == ["x", "y", "z", "w"]
    assert basic_tokenize("$5+3^2~1") == ["$", "5", "+", "3", "^", "2", "~", "1"]
    assert basic_tokenize("") == [] and basic_tokenize(" \t\n ") == []
    assert tok.basic_tokenize("Don't") == ["don", "'", "t"]


def test_wordpiece_is_greedy_longest_match_first(tok):
    assert tok.wordpiece("unaffable") == ["una", "##ffa", "##ble"]
    assert tok.wordpiece("hello") == ["hello"]
    pieces = tok.wordpiece("tokenization")
    assert pieces[0] == "token" and all(p.startswith("##") for p in pieces[1:])
    assert "".join(p.removeprefix("##") for p in pieces) == "tokenization"


def test_wordpiece_gives_unk_for_unsplittable_or_over_100_char_words(tok):
    assert tok.wordpiece("😀") == ["[UNK]"]
    assert tok.wordpiece("a" * 101) == ["[UNK]"]
    assert tok.wordpiece("a" * 100) != ["[UNK]"]
    assert tok.tokenize("ok " + "b" * 101 + " ok") == ["ok", "[UNK]", "ok"]


def test_wordpiece_cache_returns_independent_lists(tok):
    first = tok.wordpiece("unaffable")
    first.append("junk")
    assert tok.wordpiece("unaffable") == ["una", "##ffa", "##ble"]


def test_literal_special_tokens_stay_whole_but_lowercase_ones_are_text(tok):
    assert tok.tokenize("The [MASK] sat.") == ["the", "[MASK]", "sat", "."]
    assert tok.tokenize("the [mask]") == ["the", "[", "mask", "]"]


def test_vocab_properties_and_special_ids(tok):
    assert tok.vocab_size == 30522 == len(tok.vocab)
    assert (tok.pad_token_id, tok.unk_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id) == (
        0, 100, 101, 102, 103)
    assert tok.vocab["hello"] == 7592
    tok.vocab["hello"] = -1                           # a copy: the tokenizer is unchanged
    assert tok.convert_tokens_to_ids("hello") == 7592


def test_convert_tokens_and_ids_round_trip(tok):
    tokens = tok.tokenize("Unaffable people tokenize sentences.")
    ids = tok.convert_tokens_to_ids(tokens)
    assert tok.convert_ids_to_tokens(ids) == tokens
    assert tok.convert_ids_to_tokens(torch.tensor(ids)) == tokens
    assert tok.convert_tokens_to_ids("not-a-token-at-all") == tok.unk_token_id
    assert tok.convert_ids_to_tokens(101) == "[CLS]"


def test_encode_adds_cls_and_sep_and_handles_pairs(tok):
    assert tok.encode("Hello, world!") == [101, 7592, 1010, 2088, 999, 102]
    assert tok.encode("Hello", add_special_tokens=False) == [7592]
    assert tok.encode("a", "b") == [101, tok.vocab["a"], 102, tok.vocab["b"], 102]
    assert tok.encode("") == [101, 102]


def test_decode_joins_pieces_and_skips_framing_tokens(tok):
    ids = tok.encode("Unaffable tokenization works")
    assert tok.decode(ids) == "unaffable tokenization works"
    assert tok.decode(ids, skip_special_tokens=False).startswith("[CLS] unaffable")
    assert tok.decode(torch.tensor(tok.encode("The [MASK] sat"))) == "the [MASK] sat"
    batch = tok(["short", "a longer sentence"])
    assert tok.decode(batch["input_ids"][0]) == "short"          # padding is skipped


def test_from_pretrained_accepts_a_model_folder(tok):
    again = WordPieceTokenizer.from_pretrained(Path(tok.vocab_file).parent)
    assert again.encode("same folder, same ids") == tok.encode("same folder, same ids")


def test_default_folder_follows_the_model_dir_variable(tmp_path, monkeypatch):
    """With no folder given, the tokenizer reads the same folder as the weights
    (encoder_lib.pretrained.pretrained_model_dir), so $ENCODER_LIB_MODEL_DIR moves both."""
    for name in ("config.json", "model.safetensors"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello"]))
    monkeypatch.setenv("ENCODER_LIB_MODEL_DIR", str(tmp_path))
    tok = WordPieceTokenizer.from_pretrained()
    assert Path(tok.vocab_file).parent == tmp_path
    assert tok.convert_tokens_to_ids(["hello"]) == [5]


def test_module_imports_without_transformers():
    code = "import sys, encoder_lib.tokenizer; assert 'transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


# ---------------------------------------------------------------------------
# Batches: padding, attention mask, pairs, truncation
# ---------------------------------------------------------------------------

def _assert_same_batch(ours: dict, theirs: dict):
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert ours[key].dtype == torch.long, key
        assert ours[key].tolist() == theirs[key].tolist(), key


def test_batch_padded_to_the_longest_matches_hugging_face(tok, hf):
    texts = HAND_WRITTEN[:40]
    ours = tok(texts)
    _assert_same_batch(ours, hf(texts, padding=True, truncation=True, max_length=MAX_LEN, return_tensors="pt"))
    lengths = ours["attention_mask"].sum(dim=1)
    assert ours["input_ids"].shape == (40, int(lengths.max()))                 # (batch, seq)
    assert (ours["input_ids"][ours["attention_mask"] == 0] == tok.pad_token_id).all()


def test_single_string_gives_a_batch_of_one(tok, hf):
    ours = tok("The quick fox")
    assert ours["input_ids"].shape == (1, 5)
    _assert_same_batch(ours, hf("The quick fox", return_tensors="pt"))


def test_padding_to_max_length_matches_hugging_face(tok, hf):
    texts = ["a short one", "a somewhat longer sentence with more words in it", ""]
    ours = tok(texts, padding="max_length", max_length=16)
    assert ours["input_ids"].shape == (3, 16)
    _assert_same_batch(ours, hf(texts, padding="max_length", truncation=True, max_length=16, return_tensors="pt"))


def test_sentence_pairs_have_segment_ids_like_hugging_face(tok, hf):
    firsts = ["How old are you?", "The bank was closed.", "", "Ångström"]
    seconds = ["I am six.", "She sat on the river bank and watched the water flow by.", "only b", ""]
    ours = tok(firsts, seconds)
    _assert_same_batch(ours, hf(firsts, seconds, padding=True, return_tensors="pt"))
    row = ours["input_ids"][0].tolist()
    first_sep = row.index(tok.sep_token_id)
    assert ours["token_type_ids"][0, : first_sep + 1].eq(0).all()
    assert ours["token_type_ids"][0, first_sep + 1: int(ours["attention_mask"][0].sum())].eq(1).all()


@pytest.mark.parametrize("max_length", [3, 4, 5, 6, 7, 8, 10, 13, 20, 31])
def test_pair_truncation_is_longest_first_like_hugging_face(tok, hf, max_length):
    rng = random.Random(max_length)
    words = "one two three four five six seven eight nine ten eleven twelve".split()
    firsts, seconds = [], []
    for _ in range(30):
        firsts.append(" ".join(rng.choices(words, k=rng.randint(0, 15))))
        seconds.append(" ".join(rng.choices(words, k=rng.randint(0, 15))))
    ours = tok(firsts, seconds, max_length=max_length)
    theirs = hf(firsts, seconds, padding=True, truncation="longest_first", max_length=max_length, return_tensors="pt")
    _assert_same_batch(ours, theirs)
    assert ours["input_ids"].shape[1] <= max_length


@pytest.mark.parametrize("max_length", [3, 4, 9, 64])
def test_single_sequence_truncation_like_hugging_face(tok, hf, max_length):
    texts = HAND_WRITTEN[:25]
    ours = tok(texts, max_length=max_length)
    _assert_same_batch(ours, hf(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt"))


def test_default_truncation_is_the_model_max_length(tok, hf):
    text = "word " * 700
    ours = tok([text, "short"])
    assert ours["input_ids"].shape == (2, 512)
    _assert_same_batch(ours, hf([text, "short"], padding=True, truncation=True, max_length=512, return_tensors="pt"))
    assert len(tok.encode(text, truncation=False)) == 702


def test_lists_instead_of_tensors_without_padding(tok):
    out = tok(["a", "a b c"], padding=False, return_tensors=None)
    assert out["input_ids"] == [[101, 1037, 102], [101, 1037, 1038, 1039, 102]]
    assert out["attention_mask"] == [[1, 1, 1], [1, 1, 1, 1, 1]]


# ---------------------------------------------------------------------------
# Bad input: clear errors
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [None, 42, 3.5, b"bytes", [1, 2], ["ok", None], [["pre", "split"]]])
def test_non_string_input_is_a_type_error(tok, bad):
    with pytest.raises(TypeError, match="str"):
        tok(bad)


def test_non_string_to_tokenize_and_encode_is_a_type_error(tok):
    with pytest.raises(TypeError, match="str"):
        tok.tokenize(123)
    with pytest.raises(TypeError, match="text_pair"):
        tok.encode("fine", text_pair=7)
    with pytest.raises(TypeError, match="str"):
        basic_tokenize(None)


def test_empty_batch_is_a_value_error(tok):
    with pytest.raises(ValueError, match="empty batch"):
        tok([])


@pytest.mark.parametrize("max_length", [0, 1, 2, -5])
def test_max_length_too_small_for_special_tokens(tok, max_length):
    with pytest.raises(ValueError, match="max_length"):
        tok(["hello"], max_length=max_length)
    with pytest.raises(ValueError, match="max_length"):
        tok.encode("hello", max_length=max_length)


def test_max_length_must_be_an_int(tok):
    with pytest.raises(TypeError, match="max_length"):
        tok("hello", max_length=10.0)


def test_pairs_must_match_the_batch(tok):
    with pytest.raises(ValueError, match="text_pair has 1 entries"):
        tok(["a", "b"], ["only one"])
    with pytest.raises(TypeError, match="text_pair"):
        tok(["a", "b"], "not a list")


def test_bad_padding_truncation_and_return_tensors_values(tok):
    with pytest.raises(ValueError, match="padding"):
        tok("a", padding="sideways")
    with pytest.raises(ValueError, match="truncation"):
        tok("a", truncation="only_middle")
    with pytest.raises(ValueError, match="return_tensors"):
        tok("a", return_tensors="tf")


def test_too_long_for_max_length_padding_without_truncation(tok):
    with pytest.raises(ValueError, match="truncation=True"):
        tok(["a b c d e f"], padding="max_length", max_length=4, truncation=False)


def test_unpadded_uneven_batch_cannot_be_a_tensor(tok):
    with pytest.raises(ValueError, match="padding=True"):
        tok(["a", "a b c"], padding=False)


def test_ids_outside_the_vocabulary(tok):
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.convert_ids_to_tokens([5, 30522])
    with pytest.raises(TypeError, match="ints"):
        tok.decode([101, 1.5])
    with pytest.raises(ValueError, match="1-D"):
        tok.decode(torch.zeros(2, 3, dtype=torch.long))


def test_missing_vocab_file_says_where_it_looked(tmp_path):
    missing = tmp_path / "nowhere" / "vocab.txt"
    with pytest.raises(ValueError, match="nowhere"):
        WordPieceTokenizer(missing)
    with pytest.raises(ValueError, match="looked for"):
        WordPieceTokenizer.from_pretrained(tmp_path)


def test_vocab_without_special_tokens_is_rejected(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("[PAD]\n[UNK]\nhello\nworld\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[CLS\]"):
        WordPieceTokenizer(vocab)


def test_a_small_custom_vocab_works(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "!"]),
                     encoding="utf-8")
    small = WordPieceTokenizer(vocab)
    assert small.tokenize("Unaffable!") == ["un", "##aff", "##able", "!"]
    assert small.encode("unaffable zzz") == [2, 5, 6, 7, 1, 3]


# ---------------------------------------------------------------------------
# Character offsets (each token's span in the raw text)
# ---------------------------------------------------------------------------

def test_tokens_with_offsets_are_exactly_the_tokens_of_tokenize(tok, corpus):
    for group, strings in corpus.items():
        for s in strings:
            assert [t for t, _, _ in tok.tokenize_with_offsets(s)] == tok.tokenize(s), (group, repr(s))


@pytest.mark.parametrize("group", ["wordnet", "generated", "hand_written", "unicode_fuzz", "long_words"])
def test_offsets_equal_hugging_face_offsets_mapping(tok, hf, corpus, group):
    strings = corpus[group]
    if not strings:
        pytest.skip(f"no {group} strings available")
    theirs = hf(strings, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    for s, ref in zip(strings, theirs):
        ours = [(start, end) for _, start, end in tok.tokenize_with_offsets(s)]
        assert ours == [tuple(o) for o in ref], repr(s)


def test_offsets_name_the_surface_form_of_each_word(tok):
    text = "Unaffable Banks, [MASK] of Zürich."
    spans = tok.tokenize_with_offsets(text)
    assert ("banks", 10, 15) in spans and ("[MASK]", 17, 23) in spans and ("zurich", 27, 33) in spans
    assert [text[a:b] for t, a, b in spans if t in ("banks", ",", "of", "zurich", ".")] == \
        ["Banks", ",", "of", "Zürich", "."]
    first, *rest = [(a, b) for t, a, b in spans if b <= 9]                # the pieces of "Unaffable"
    assert first[0] == 0 and rest[-1][1] == 9 and all(p[1] == q[0] for p, q in zip([first] + rest, rest))


def test_batch_offset_mapping_matches_hugging_face_with_padding_pairs_and_truncation(tok, hf):
    texts = ["The bank of the river.", "She banked the money at the café.", "a"]
    pairs = ["Deposit it.", "x" * 120 + " y", "b c"]
    for kwargs in ({}, {"text_pair": pairs}, {"text_pair": pairs, "max_length": 9}):
        ours = tok(texts, return_offsets_mapping=True, **kwargs)
        theirs = hf(texts, padding=True, truncation=True, return_offsets_mapping=True,
                    return_tensors="pt", **kwargs)
        assert torch.equal(ours["input_ids"], theirs["input_ids"]), kwargs
        assert torch.equal(ours["offset_mapping"], theirs["offset_mapping"]), kwargs
        assert ours["offset_mapping"].shape == (*ours["input_ids"].shape, 2)
    without = tok(texts)
    assert "offset_mapping" not in without
    assert torch.equal(without["input_ids"], tok(texts, return_offsets_mapping=True)["input_ids"])
