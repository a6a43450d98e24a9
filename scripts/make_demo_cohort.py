"""Write the demo class that ``make grade`` grades by default: ``autograder/demo_cohort/``.

    python scripts/make_demo_cohort.py [--out DIR]

One folder per student, the notebooks as students hand them in (see
``autograder/course/cohort.py``). The class has the kinds of submissions an instructor meets
in Part 1:

- ``ada``  everything right;            - ``ben``  the release, untouched;
- ``cleo`` the first half of each notebook's exercises;
- ``dan``  all code right, every quiz answer wrong;
- ``eve``  broken: 01 is cut off mid-file (invalid JSON), 02 has a syntax error in one
  answer, 03 is fine;
- ``finn`` saved by Colab and downloaded as ``Copy of ...ipynb``;
- ``gia``  downloaded twice: ``02_self_attention (1).ipynb`` (answered) next to an old
  blank ``02_self_attention.ipynb``;
- 15 more students who answered a seeded random share of the exercises and quizzes.

and four of them handed in Part 2 (notebook 04) as well:

- ``ada``  everything right;            - ``ben``  the release, untouched;
- ``dan``  everything right but one quiz (Quiz 2);
- ``eve``  everything right, but the training-loop cell (an ordinary cell students may
  edit) was broken by a typo, so it and the cells after it fail: no test depends on them.

In Part 3 (``LATER_PARTS``) ada, dan, finn and the 15 others do as in Part 1 (finn's
notebooks are Colab copies), ben hands in the release, cleo the first half of the
exercises, and eve and gia hand in everything right.

Deterministic: a test regenerates the cohort and compares it byte for byte with the
committed one, so run this again whenever the notebooks change.
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course.cohort import (colab_bytes, exercises, submission, to_bytes,  # noqa: E402
                               wrong_quizzes)
from autograder.course.course import RELEASE_DIR, SOLUTIONS_DIR  # noqa: E402

PART = "part1_representations"
NOTEBOOKS = ["01_tokens_to_vectors", "02_self_attention", "03_sequence_representations"]
PART2, NB04 = "part2_pretraining", "04_masked_lm_pretraining"
#: The line of notebook 04's training loop that calls the student's training_step.
TRAINING_CALL = "loss = training_step(model, batch, optimizer, scaler, policy, run.grad_clip)"
OTHERS = ["hana", "ivan", "jon", "kai", "lea", "max", "nia", "omar", "pia", "quinn", "rosa", "sam",
          "tara", "uma", "vic"]
DEFAULT_OUT = REPO / "autograder" / "demo_cohort"
#: Parts handed in by the whole class, each with its own seeded choices: (assignment, notebooks).
LATER_PARTS = [("part3_adaptation", ["05_finetuning", "06_context_tasks"])]


def cohort(solutions: Path = SOLUTIONS_DIR, release: Path = RELEASE_DIR) -> dict[str, dict[str, bytes]]:
    """``{student: {file name: bytes}}`` for the whole demo class."""
    def sub(nb, solved=None):
        return submission(PART, nb, solved, solutions_dir=solutions, release_dir=release)

    def sub04(solved=None):
        return submission(PART2, NB04, solved, solutions_dir=solutions, release_dir=release)

    students: dict[str, dict[str, bytes]] = {}
    students["ada"] = {f"{nb}.ipynb": to_bytes(sub(nb)) for nb in NOTEBOOKS}
    students["ben"] = {f"{nb}.ipynb": to_bytes(sub(nb, set())) for nb in NOTEBOOKS}
    students["cleo"] = {}
    for nb in NOTEBOOKS:
        ex = exercises(PART, nb, release)
        students["cleo"][f"{nb}.ipynb"] = to_bytes(sub(nb, set(ex[: len(ex) // 2])))
    students["dan"] = {f"{nb}.ipynb": to_bytes(wrong_quizzes(sub(nb))) for nb in NOTEBOOKS}

    eve = {}
    full = to_bytes(sub(NOTEBOOKS[0]))
    eve[f"{NOTEBOOKS[0]}.ipynb"] = full[: len(full) // 2]          # the upload broke off
    broken = sub(NOTEBOOKS[1])
    first = next(c for c in broken.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    first.source = first.source.replace(":", "", 1) if ":" in first.source else first.source + "\n)"
    eve[f"{NOTEBOOKS[1]}.ipynb"] = to_bytes(broken)
    eve[f"{NOTEBOOKS[2]}.ipynb"] = to_bytes(sub(NOTEBOOKS[2]))
    students["eve"] = eve

    students["finn"] = {f"Copy of {nb}.ipynb": colab_bytes(sub(nb), seed=i)
                        for i, nb in enumerate(NOTEBOOKS)}
    students["gia"] = {f"{NOTEBOOKS[0]}.ipynb": to_bytes(sub(NOTEBOOKS[0])),
                       f"{NOTEBOOKS[1]}.ipynb": to_bytes(sub(NOTEBOOKS[1], set())),
                       f"{NOTEBOOKS[1]} (1).ipynb": to_bytes(sub(NOTEBOOKS[1])),
                       f"{NOTEBOOKS[2]}.ipynb": to_bytes(sub(NOTEBOOKS[2]))}

    students["ada"][f"{NB04}.ipynb"] = to_bytes(sub04())
    students["ben"][f"{NB04}.ipynb"] = to_bytes(sub04(set()))
    one_wrong = sub04()
    _cell(one_wrong, "quiz_2").source = 'QUIZ_2 = "b"'
    students["dan"][f"{NB04}.ipynb"] = to_bytes(one_wrong)
    broken_loop = sub04()
    loop = next(c for c in broken_loop.cells if TRAINING_CALL in c.source)
    loop.source = loop.source.replace(TRAINING_CALL, TRAINING_CALL.replace("training_step", "trainig_step"))
    students["eve"][f"{NB04}.ipynb"] = to_bytes(broken_loop)

    rng = random.Random(2024)
    for name in OTHERS:
        share = rng.uniform(0.3, 1.0)
        files = {}
        for nb in NOTEBOOKS:
            ex = exercises(PART, nb, release)
            solved = {e for e in ex if rng.random() < share}
            doc = sub(nb, solved)
            if rng.random() < 0.4:
                doc = wrong_quizzes(doc)
            files[f"{nb}.ipynb"] = to_bytes(doc)
        students[name] = files
    for part, notebooks in LATER_PARTS:
        add_later_part(students, part, notebooks, solutions, release)
    return students


def add_later_part(students: dict[str, dict[str, bytes]], part: str, notebooks: list[str],
                   solutions: Path, release: Path) -> None:
    """Add one later part's notebooks to every student of the class (its own seeded
    random numbers, so adding a part leaves the others' bytes as they were)."""
    def sub(nb, solved=None):
        return submission(part, nb, solved, solutions_dir=solutions, release_dir=release)

    rng = random.Random(f"2024:{part}")
    for i, nb in enumerate(notebooks):
        ex = exercises(part, nb, release)
        students["ada"][f"{nb}.ipynb"] = to_bytes(sub(nb))
        students["ben"][f"{nb}.ipynb"] = to_bytes(sub(nb, set()))
        students["cleo"][f"{nb}.ipynb"] = to_bytes(sub(nb, set(ex[: len(ex) // 2])))
        students["dan"][f"{nb}.ipynb"] = to_bytes(wrong_quizzes(sub(nb)))
        students["eve"][f"{nb}.ipynb"] = to_bytes(sub(nb))
        students["finn"][f"Copy of {nb}.ipynb"] = colab_bytes(sub(nb), seed=len(NOTEBOOKS) + i)
        students["gia"][f"{nb}.ipynb"] = to_bytes(sub(nb))
        for name in OTHERS:
            share = rng.uniform(0.3, 1.0)
            doc = sub(nb, {e for e in ex if rng.random() < share})
            students[name][f"{nb}.ipynb"] = to_bytes(wrong_quizzes(doc) if rng.random() < 0.4 else doc)


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def write(out: Path, students: dict[str, dict[str, bytes]]) -> None:
    if out.exists():
        shutil.rmtree(out)
    for student, files in students.items():
        (out / student).mkdir(parents=True)
        for name, data in files.items():
            (out / student / name).write_bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    students = cohort()
    write(args.out, students)
    print(f"wrote {sum(len(f) for f in students.values())} notebooks of {len(students)} students to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
