"""Every student's feedback again, with the hand grades and comments (after formgrader).

    python -m autograder.reporting.regenerate_feedback --out OUT

runs nbgrader's own ``nbgrader generate_feedback --force`` for every graded part in OUT
(with ``OUT/nbgrader_config.py``, the project's settings: :class:`autograder.course.feedback.HideHiddenTests`
strips the hidden tests, as in ``make grade``), so each page shows the scores and comments
saved in ``OUT/gradebook.db``. Answers still waiting for a person are then marked
"pending" (not 0) with :func:`autograder.course.feedback.mark_pending`, and notebooks that could
not be read get their page again. Formgrader's "Generate Feedback" button uses the same
config, so it strips the hidden tests too (it does not mark pending answers).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import warnings
from pathlib import Path

from ..course.feedback import mark_pending
from .formgrader import tool_env, write_output_config
from ..intake.unreadable import write_unreadable_feedback


def pending_grades(db: Path) -> dict[tuple[str, str, str], dict[str, float]]:
    """``(student, part, notebook) -> {grade_id: points}`` of the answers nobody graded yet."""
    from nbgrader.api import Gradebook

    out: dict = {}
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db}") as gb:
        warnings.simplefilter("ignore")
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                for nb in sub.notebooks:
                    for g in nb.grades:
                        if g.needs_manual_grade and g.manual_score is None:
                            out.setdefault((sub.student_id, assignment.name, nb.name), {})[g.name] = \
                                float(g.max_score)
    return out


def regenerate(out: Path) -> list[Path]:
    """Write every feedback page of ``out`` again; returns the pages."""
    out = Path(out).resolve()
    write_output_config(out)
    run = json.loads((out / ".state" / "run.json").read_text(encoding="utf-8"))
    for part in run["parts"]:
        if not any((out / "autograded").glob(f"*/{part}/*.ipynb")):
            continue
        proc = subprocess.run(["nbgrader", "generate_feedback", part, "--force"], cwd=out, env=tool_env(),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"`nbgrader generate_feedback {part}` failed:\n{proc.stdout[-2000:]}"
                               f"{proc.stderr[-3000:]}")
    for (student, part, notebook), pending in pending_grades(out / "gradebook.db").items():
        page = out / "feedback" / student / part / f"{notebook}.html"
        if page.is_file():
            page.write_text(mark_pending(page.read_text(encoding="utf-8"), pending), encoding="utf-8")
    jobs = [{**j, "feedback_dir": str(out / "feedback" / j["student"] / j["assignment"])} for j in run["jobs"]]
    write_unreadable_feedback(jobs, run["layout"])
    return sorted((out / "feedback").rglob("*.html"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.reporting.regenerate_feedback",
                                description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("grading_out"), help="the grading output (make grade's OUT)")
    args = p.parse_args(argv)
    try:
        pages = regenerate(args.out)
    except (ValueError, RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{len(pages)} feedback page(s) written in {args.out.resolve() / 'feedback'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
