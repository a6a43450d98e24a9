"""The shipped WordNet 3.0 files: in sync with scripts/extract_wordnet.py, and loadable."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from encoder_lib.data import wordnet

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "extract_wordnet.py"
SHIPPED = wordnet.DATA_DIR
SHIPPED_FILES = ("glosses.tsv.gz", "examples.tsv.gz", "LICENSE", "NOTICE", "MANIFEST.json")


def _load_script():
    spec = importlib.util.spec_from_file_location("extract_wordnet", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((SHIPPED / "MANIFEST.json").read_text())


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory, manifest) -> Path:
    """Run the extraction script on the installed WordNet into a fresh folder."""
    script = _load_script()
    source = script.find_wordnet_dir()
    if source is None:
        pytest.skip("WordNet source not installed (apt-get install wordnet-base); "
                    "cannot re-run scripts/extract_wordnet.py")
    installed = {n: hashlib.sha256((source / n).read_bytes()).hexdigest() for n in script.DATA_FILES}
    if installed != manifest["source"]["sha256"]:
        pytest.skip(f"the WordNet installed in {source} differs from the one the shipped "
                    "files were made from (see MANIFEST.json source.sha256)")
    out = tmp_path_factory.mktemp("wordnet")
    subprocess.run([sys.executable, str(SCRIPT), "--wordnet-dir", str(source), "--out", str(out)],
                   check=True, capture_output=True)
    return out


def test_extraction_reproduces_shipped_text(regenerated):
    for name in ("glosses.tsv.gz", "examples.tsv.gz"):
        fresh = gzip.decompress((regenerated / name).read_bytes())
        shipped = gzip.decompress((SHIPPED / name).read_bytes())
        assert fresh == shipped, f"{name} is out of date: run scripts/extract_wordnet.py"


def test_extraction_reproduces_shipped_bytes(regenerated):
    assert sorted(p.name for p in regenerated.iterdir()) == sorted(SHIPPED_FILES)
    for name in SHIPPED_FILES:
        assert (regenerated / name).read_bytes() == (SHIPPED / name).read_bytes(), (
            f"{name} differs from a fresh extraction: run scripts/extract_wordnet.py")


def test_manifest_matches_shipped_files(manifest):
    for name, entry in manifest["files"].items():
        data = (SHIPPED / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        assert len(data) == entry["bytes"], name
    assert manifest["files"]["glosses.tsv.gz"]["rows"] == len(wordnet.glosses())
    assert manifest["files"]["examples.tsv.gz"]["rows"] == len(wordnet.examples())


def test_shipped_files_are_small():
    total = sum((SHIPPED / n).stat().st_size for n in SHIPPED_FILES)
    assert total < 20_000_000


def test_licence_and_notice_are_shipped():
    licence = (SHIPPED / "LICENSE").read_text()
    assert "WordNet 3.0 Copyright 2006 by Princeton University" in licence
    assert "Permission to use, copy, modify and distribute" in licence
    assert "PROVIDED \"AS IS\"" in licence
    notice = (SHIPPED / "NOTICE").read_text()
    assert "Princeton University" in notice and "LICENSE" in notice


def test_licence_is_the_debian_packages_licence_word_for_word():
    copyright_file = Path("/usr/share/doc/wordnet-base/copyright")
    if not copyright_file.is_file():
        pytest.skip("Debian's /usr/share/doc/wordnet-base/copyright is not installed")
    text = copyright_file.read_text()
    stanza = text.split("License: WordNet3.0", 1)[1].split("\nFiles:", 1)[0]
    assert (SHIPPED / "LICENSE").read_text().split() == stanza.replace("\n .\n", "\n").split()


def test_glosses_cover_every_synset_with_a_definition():
    glosses = wordnet.glosses()
    assert len(glosses) == 117_659
    assert len({g.synset for g in glosses}) == len(glosses)
    assert all(g.definition and g.lemmas and all(g.lemmas) for g in glosses)
    assert {g.pos for g in glosses} == {"n", "v", "a", "s", "r"}
    dog = next(g for g in glosses if g.synset == "02084071-n")
    assert dog.supersense == "noun.animal"
    assert dog.lemmas[:2] == ("dog", "domestic dog")
    assert '"' not in dog.definition  # the examples are split off


def test_there_are_45_supersenses_and_every_gloss_uses_one():
    names = wordnet.supersenses()
    assert len(names) == 45 == len(set(names))
    assert names[0] == "adj.all" and names[3] == "noun.Tops" and names[44] == "adj.ppl"
    used = {g.supersense for g in wordnet.glosses()}
    assert used == set(names)


def test_examples_have_their_synsets_fields():
    examples = wordnet.examples()
    assert 47_000 < len(examples) < 50_000
    by_id = {g.synset: g for g in wordnet.glosses()}
    for e in examples:
        assert e.text and e.text == e.text.strip()
        assert by_id[e.synset].supersense == e.supersense
    tagged = [e for e in examples if e.target is not None]
    assert len(tagged) > 0.9 * len(examples)


def test_every_target_span_points_at_the_lemma():
    by_id = {g.synset: g for g in wordnet.glosses()}
    for e in wordnet.examples():
        if e.target is None:
            assert e.start is None and e.end is None
            continue
        assert e.target in by_id[e.synset].lemmas
        surface = e.text[e.start : e.end].lower()
        lemma = e.target.lower()
        assert surface.startswith(lemma) or surface.startswith(lemma[:-1]), (e, surface)
        assert surface in _loose_forms(lemma), (e, surface)


def _loose_forms(lemma: str) -> set[str]:
    forms = {lemma} | {lemma + s for s in ("s", "es", "ed", "ing", "d")}
    forms |= {lemma[:-1] + "ing", lemma[:-1] + "ies", lemma[:-1] + "ied"}
    return forms


def test_examples_with_bank_finds_the_word_and_its_tagged_senses():
    containing = wordnet.examples_with("bank")
    assert len(containing) == 54
    assert all("bank" in e.text.lower() for e in containing)
    tagged = wordnet.examples_with("bank", tagged=True)
    assert len(tagged) == 14 and set(tagged) <= set(containing)
    assert all(e.text[e.start : e.end].lower() == "bank" for e in tagged)
    assert len({e.synset for e in tagged}) >= 10  # river bank, money bank, ... differ


def test_examples_with_rejects_bad_words():
    with pytest.raises(ValueError, match="non-empty"):
        wordnet.examples_with("  ")
    with pytest.raises(TypeError, match="str"):
        wordnet.examples_with(3)


def test_sentences_are_definitions_then_examples():
    sents = wordnet.sentences()
    assert len(sents) == len(wordnet.glosses()) + len(wordnet.examples())
    assert sents[0] == wordnet.glosses()[0].definition
    assert sents[-1] == wordnet.examples()[-1].text
    assert 1_300_000 < sum(len(s.split()) for s in sents) < 1_700_000


def test_loaders_return_copies_of_a_cache():
    first = wordnet.glosses()
    first.clear()
    assert len(wordnet.glosses()) == 117_659


def test_missing_file_names_the_file_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(wordnet, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"glosses\.tsv\.gz.*extract_wordnet\.py"):
        wordnet._read_tsv("glosses.tsv.gz")
