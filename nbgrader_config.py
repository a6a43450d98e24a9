"""nbgrader reads this file when run from the repository root (the course root); the
settings themselves live in autograder/course/nbgrader_config.py."""
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(_ROOT))

from autograder.course.nbgrader_config import configure  # noqa: E402

configure(get_config(), root=_ROOT)  # noqa: F821 (get_config is provided by traitlets)
