"""Extract the WordNet 3.0 text the course trains on into small, reproducible files.

Reads the WordNet database files (data.noun, data.verb, data.adj, data.adv) from the
Debian package ``wordnet-base`` with our own parser and writes, into
``encoder_lib/data/wordnet/`` by default:

- ``glosses.tsv.gz``  one row per synset: id, supersense, lemmas, definition
- ``examples.tsv.gz`` one row per quoted example sentence, with the synset's lemma
  found in it (target and character span) where there is one
- ``LICENSE``         the WordNet 3.0 licence, as it heads every database file
- ``NOTICE``          what these files are and where they come from
- ``MANIFEST.json``   row counts and sha256 of each file, and of the source files

The output is byte-for-byte reproducible: rows in database order, gzip with mtime=0
and no file name in the header.

Usage:  .venv/bin/python scripts/extract_wordnet.py [--wordnet-dir DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from encoder_lib.data.wordnet import SUPERSENSES  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "encoder_lib" / "data" / "wordnet"

# Database files in the order rows are written (nouns, verbs, adjectives, adverbs).
DATA_FILES = ("data.noun", "data.verb", "data.adj", "data.adv")

# WordNet's lexicographer files, indexed by the lex_filenum field: the synset's supersense.
LEXNAMES = SUPERSENSES

GLOSS_HEADER = ("synset", "supersense", "lemmas", "definition")
EXAMPLE_HEADER = ("synset", "supersense", "target", "start", "end", "text")
LEMMA_SEP = "|"  # WordNet lemmas never contain '|', tabs or newlines

_ADJ_MARKER = re.compile(r"\((?:a|p|ip)\)$")  # syntactic marker on some adjectives
_QUOTED = re.compile(r'"([^"]*)"')
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Synset:
    """One parsed line of a data.* file."""

    synset: str  # offset-pos, e.g. "02084071-n" ("s" marks an adjective satellite)
    supersense: str  # lexicographer file name, e.g. "noun.animal"
    lemmas: tuple[str, ...]  # words of the synset, spaces instead of underscores
    definition: str  # gloss text without the quoted examples
    examples: tuple[str, ...]  # the quoted example sentences, in gloss order


def find_wordnet_dir() -> Path | None:
    """Where the installed WordNet database is, or None when it is not installed."""
    candidates = [Path("/usr/share/wordnet")]
    if shutil.which("dpkg"):
        try:
            listing = subprocess.run(
                ["dpkg", "-L", "wordnet-base"], capture_output=True, text=True, check=False
            ).stdout
        except OSError:
            listing = ""
        candidates += [Path(p).parent for p in listing.splitlines() if p.endswith("/data.noun")]
    for cand in candidates:
        if all((cand / name).is_file() for name in DATA_FILES):
            return cand
    return None


def _clean(text: str) -> str:
    """Collapse runs of whitespace into one space and trim the ends."""
    return _SPACES.sub(" ", text).strip()


def split_gloss(gloss: str) -> tuple[str, tuple[str, ...]]:
    """Split a gloss into its definition and its quoted example sentences.

    The definition is everything before the first double quote that opens the gloss
    or follows ';' or ':'; quoted words inside the definition stay there. The examples are
    the quoted strings after it (attributions such as '- Shakespeare' are dropped).
    """
    cut = len(gloss)
    for m in re.finditer('"', gloss):
        before = gloss[: m.start()].rstrip()
        if before == "" or before.endswith((";", ":")):
            cut = m.start()
            break
    definition = _clean(gloss[:cut]).rstrip(";:").strip()
    examples = tuple(e for e in (_clean(q) for q in _QUOTED.findall(gloss[cut:])) if e)
    return definition, examples


def parse_line(line: str) -> Synset:
    """Parse one synset line of a data.* file (see wndb(5WN))."""
    fields_part, _, gloss = line.rstrip("\n").partition(" | ")
    fields = fields_part.split()
    offset, lex_filenum, ss_type = fields[0], int(fields[1]), fields[2]
    w_cnt = int(fields[3], 16)
    words = fields[4 : 4 + 2 * w_cnt : 2]
    lemmas: list[str] = []
    for word in words:
        lemma = _ADJ_MARKER.sub("", word).replace("_", " ")
        if lemma not in lemmas:
            lemmas.append(lemma)
    definition, examples = split_gloss(gloss)
    return Synset(f"{offset}-{ss_type}", LEXNAMES[lex_filenum], tuple(lemmas), definition, examples)


def read_synsets(wordnet_dir: Path) -> list[Synset]:
    """Every synset of the four data files, in file order then offset order."""
    synsets = []
    for name in DATA_FILES:
        with open(wordnet_dir / name, encoding="utf-8") as f:
            for line in f:
                if line.startswith("  "):  # the licence header
                    continue
                synsets.append(parse_line(line))
    return synsets


def _forms(lemma: str) -> list[str]:
    """Loose surface forms of a lemma: itself and +s/es/ed/ing/d (and e-drop, y->ies)."""
    forms = [lemma] + [lemma + suffix for suffix in ("s", "es", "ed", "ing", "d")]
    if lemma.endswith("e") and len(lemma) > 2:
        forms.append(lemma[:-1] + "ing")
    if lemma.endswith("y") and len(lemma) > 2:
        forms += [lemma[:-1] + "ies", lemma[:-1] + "ied"]
    return forms


def find_target(sentence: str, lemmas: tuple[str, ...]) -> tuple[str, int, int] | None:
    """The lemma found in the sentence and its span (start, end), or None.

    Matching ignores case and needs word boundaries. The earliest match wins; at the
    same position the longer match wins, then the earlier lemma.
    """
    best: tuple[int, int, int, str] | None = None  # (start, -length, lemma index, lemma)
    lower = sentence.lower()
    for index, lemma in enumerate(lemmas):
        forms = sorted(set(_forms(lemma.lower())), key=len, reverse=True)
        pattern = r"(?<![\w])(?:" + "|".join(re.escape(f) for f in forms) + r")(?![\w])"
        m = re.search(pattern, lower)
        if m is None:
            continue
        key = (m.start(), -(m.end() - m.start()), index, lemma)
        if best is None or key < best:
            best = key
    if best is None:
        return None
    start, neg_len, _, lemma = best
    return lemma, start, start - neg_len


def _tsv(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> bytes:
    lines = ["\t".join(header)]
    for row in rows:
        assert all("\t" not in c and "\n" not in c for c in row), row
        lines.append("\t".join(row))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _gzip(data: bytes) -> bytes:
    """gzip with a fixed header (no name, mtime 0) so equal input gives equal bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def read_licence(wordnet_dir: Path) -> str:
    """The WordNet licence as it heads data.noun, without the line numbers."""
    lines = []
    with open(wordnet_dir / "data.noun", encoding="utf-8") as f:
        for line in f:
            if not line.startswith("  "):
                break
            m = re.match(r"  \d+ ?(.*)$", line.rstrip("\n"))
            lines.append(m.group(1).rstrip() if m else line.strip())
    if not lines:
        raise ValueError(f"no licence header found in {wordnet_dir / 'data.noun'}")
    return "\n".join(lines) + "\n"


NOTICE = """\
WordNet 3.0 text for the encoder course
=======================================

glosses.tsv.gz and examples.tsv.gz are derived from WordNet 3.0 (Princeton
University), as packaged by Debian in wordnet-base. They were made by
scripts/extract_wordnet.py, which keeps each synset's id, lexicographer file
(supersense), lemmas, definition and quoted example sentences, and marks where a
lemma occurs in an example. No other change was made to the text except that
runs of whitespace were collapsed to one space.

WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.

The WordNet licence, which must be kept with these files and all copies of them,
is in the file LICENSE next to this one.

Princeton University Cognitive Science Laboratory, "WordNet: A Lexical Database
for English", https://wordnet.princeton.edu/
"""


def build(wordnet_dir: Path) -> dict[str, bytes]:
    """The shipped files (name -> bytes) for the WordNet database in wordnet_dir."""
    synsets = read_synsets(wordnet_dir)
    gloss_rows = [(s.synset, s.supersense, LEMMA_SEP.join(s.lemmas), s.definition) for s in synsets]
    example_rows = []
    for s in synsets:
        for text in s.examples:
            hit = find_target(text, s.lemmas)
            target, start, end = (hit[0], str(hit[1]), str(hit[2])) if hit else ("", "", "")
            example_rows.append((s.synset, s.supersense, target, start, end, text))
    files = {
        "glosses.tsv.gz": _gzip(_tsv(GLOSS_HEADER, gloss_rows)),
        "examples.tsv.gz": _gzip(_tsv(EXAMPLE_HEADER, example_rows)),
        "LICENSE": read_licence(wordnet_dir).encode("utf-8"),
        "NOTICE": NOTICE.encode("utf-8"),
    }
    rows = {"glosses.tsv.gz": len(gloss_rows), "examples.tsv.gz": len(example_rows)}
    manifest = {
        "source": {
            "name": "WordNet 3.0 (Debian package wordnet-base)",
            "sha256": {
                name: hashlib.sha256((wordnet_dir / name).read_bytes()).hexdigest()
                for name in DATA_FILES
            },
        },
        "files": {
            name: {
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                **({"rows": rows[name]} if name in rows else {}),
            }
            for name, data in sorted(files.items())
        },
        "counts": {
            "synsets": len(gloss_rows),
            "examples": len(example_rows),
            "examples_with_target": sum(1 for r in example_rows if r[2]),
            "supersenses": len(LEXNAMES),
        },
        "regenerate": "python scripts/extract_wordnet.py",
    }
    files["MANIFEST.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet-dir", type=Path, default=None,
                        help="folder holding data.noun etc. (default: found via dpkg)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    wordnet_dir = args.wordnet_dir or find_wordnet_dir()
    if wordnet_dir is None:
        print("WordNet database not found: install it with `apt-get install wordnet-base` "
              "or pass --wordnet-dir", file=sys.stderr)
        return 2
    missing = [n for n in DATA_FILES if not (wordnet_dir / n).is_file()]
    if missing:
        print(f"{wordnet_dir} lacks {', '.join(missing)}", file=sys.stderr)
        return 2
    files = build(wordnet_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
    counts = json.loads(files["MANIFEST.json"])["counts"]
    total = sum(len(d) for d in files.values())
    print(f"wrote {len(files)} files ({total / 1e6:.2f} MB) to {args.out}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
