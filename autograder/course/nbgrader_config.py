"""The course's nbgrader settings, in one place.

The repository root is the course root: ``solutions/`` is nbgrader's source directory,
``notebooks/`` its release directory, one folder per part (assignment). Everything a
grading run writes (submitted/, autograded/, feedback/, the gradebook) goes under the
git-ignored ``.grading/``. Scratch courses (tests, the grader) call :func:`configure`
with their own root and folder names.
"""
from __future__ import annotations

import os
from pathlib import Path

COURSE_ID = "encoder-course"
#: What a student sees in place of a solution region in the release.
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
TEXT_STUB = "YOUR ANSWER HERE"
#: Seconds one cell may run while grading (grading mode keeps every cell far below).
CELL_TIMEOUT_S = 180


def configure(c, root: str | os.PathLike, source: str = "solutions", release: str = "notebooks",
              workspace: str | None = ".grading", db_url: str | None = None) -> None:
    """Fill the traitlets config ``c`` for a course rooted at ``root``.

    ``workspace`` is the folder (relative to ``root``) holding submitted/, autograded/,
    feedback/ and the gradebook; ``None`` puts them straight under ``root``.
    """
    root = Path(root).resolve()
    work = Path(workspace) if workspace else Path()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = source
    c.CourseDirectory.release_directory = release
    c.CourseDirectory.submitted_directory = str(work / "submitted")
    c.CourseDirectory.autograded_directory = str(work / "autograded")
    c.CourseDirectory.feedback_directory = str(work / "feedback")
    c.CourseDirectory.solution_directory = str(work / "solution")
    if db_url is None:
        (root / work).mkdir(parents=True, exist_ok=True)
        db_url = f"sqlite:///{root / work / 'gradebook.db'}"
    c.CourseDirectory.db_url = db_url
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".grading"]

    c.ClearSolutions.code_stub = {"python": CODE_STUB}
    c.ClearSolutions.text_stub = TEXT_STUB
    c.Execute.timeout = CELL_TIMEOUT_S
    # nbgrader's own feedback step (`nbgrader generate_feedback`, formgrader's button) takes
    # the hidden tests out of the feedback as `make grade` does
    c.GenerateFeedback.preprocessors = ["nbgrader.preprocessors.GetGrades",
                                        "autograder.course.feedback.HideHiddenTests",
                                        "autograder.course.feedback.SubmittedOutputs",
                                        "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
    c.SubmittedOutputs.submitted_root = str(root / work / "submitted")
    # math rendered into the page (MathML), not by MathJax from a CDN: feedback reads offline
    c.GenerateFeedback.exporter_class = "autograder.course.feedback_math.OfflineMathHTMLExporter"
