"""Find every student's notebooks in what an instructor collected, without touching it.

Accepted shapes (a folder or a ``.zip`` of one):

- one folder per student: ``SUBMISSIONS/<student>/.../03_sequence_representations.ipynb``;
- a flat folder or LMS export whose file names carry the student:
  ``<student>_<anything>03_sequence_representations.ipynb`` (the student is what the
  ``--pattern`` regular expression's ``student`` group matches; by default everything
  before the first underscore, which fits Canvas and Moodle exports);
- a zip whose entries are either of those, possibly inside one wrapping folder.

Browser and Colab renamings are recognised (``Copy of 03_... .ipynb``,
``03_... (1).ipynb``); a notebook is identified by its course name anywhere in the file
name, else by its two-digit number. When a student handed in the same notebook twice
the newest copy counts. Other files (``torch.py`` ...) are never graded or copied. Zip
entries that would land outside the extraction folder (``../``), links and oversized
files are skipped. Every decision is kept as a note for the report.

Files are only read: the input is never modified.
"""
from __future__ import annotations

import hashlib
import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

DEFAULT_PATTERN = r"^(?P<student>[^_]+)_"
MAX_FILE_BYTES = 50 * 2**20
MAX_TOTAL_BYTES = 4 * 2**30
NOISE = re.compile(r"^(\.|__MACOSX$|desktop\.ini$|Thumbs\.db$)", re.IGNORECASE)
COPY_PREFIX = re.compile(r"^(copy of |copie de |kopie von |copia de |copy_of_)+", re.IGNORECASE)
DUP_SUFFIX = re.compile(r"\s*[\(\[](\d+)[\)\]]\s*$|(-checkpoint)$")


@dataclass
class Candidate:
    """One submitted notebook file (its bytes are read once, here)."""
    student: str
    assignment: str
    notebook: str
    origin: str            # where it came from, for the report
    raw: bytes
    version: int = 0       # the "(n)" a browser appended
    mtime: float = 0.0

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()


@dataclass
class IntakeNote:
    student: str | None
    origin: str
    kind: str
    detail: str
    notebook: str | None = None


@dataclass
class Intake:
    """``students[student][notebook] = Candidate``; students with nothing usable have ``{}``."""
    students: dict[str, dict[str, Candidate]] = field(default_factory=dict)
    notes: list[IntakeNote] = field(default_factory=list)

    def note(self, student, origin, kind, detail, notebook=None) -> None:
        self.notes.append(IntakeNote(student, origin, kind, detail, notebook))


@dataclass
class _File:
    parts: tuple[str, ...]     # path inside the submission, as components
    origin: str
    read: callable
    size: int
    mtime: float


def identify(filename: str, notebooks: dict[str, str]) -> tuple[str | None, int, str]:
    """(notebook, version, how) for a file name; ``notebooks`` maps name -> assignment."""
    stem = filename[:-6] if filename.lower().endswith(".ipynb") else filename
    version = 0
    m = DUP_SUFFIX.search(stem)
    while m:
        if m.group(1):
            version = max(version, int(m.group(1)))
        stem = stem[:m.start()]
        m = DUP_SUFFIX.search(stem)
    stem = COPY_PREFIX.sub("", stem.strip())
    norm = re.sub(r"[\s\-]+", "_", stem.lower())
    hits = [n for n in notebooks if n.lower() in norm]
    if hits:
        return max(hits, key=len), version, "name"
    numbers = set(re.findall(r"(?<![0-9])([0-9]{2})(?![0-9])", norm))
    by_number = [n for n in notebooks if n[:2] in numbers and n[:2].isdigit()]
    if len(by_number) == 1:
        return by_number[0], version, "number"
    return None, version, ""


def safe_student(name: str) -> str:
    """A student id as a path-safe name: accents dropped (``Jürgen`` -> ``Jurgen``), anything
    else outside letters, digits, ``. _ -`` made ``_``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name.strip()).strip("._")
    return s or "unknown"


def _distinct(student_raw: str, taken: dict[str, str]) -> str:
    """``safe_student(student_raw)``, made distinct from the safe ids of other raw ids (``Zoë``
    and ``Zoé`` are two students, not one student with two files)."""
    student = safe_student(student_raw)
    if taken.setdefault(student, student_raw) != student_raw:
        student = f"{student}-{hashlib.sha256(student_raw.encode('utf-8', 'surrogatepass')).hexdigest()[:6]}"
        taken.setdefault(student, student_raw)
    return student


def _walk_dir(root: Path, intake: Intake) -> list[_File]:
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(NOISE.match(p) for p in rel.parts) or ".ipynb_checkpoints" in rel.parts:
            continue
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            intake.note(None, str(rel), "skipped_link", "a symbolic link was skipped (links are never followed)")
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        files.append(_File(rel.parts, str(rel), (lambda p=path: p.read_bytes()), st.st_size, st.st_mtime))
    return files


def _walk_zip(zpath: Path, intake: Intake) -> list[_File]:
    files = []
    total = 0
    zf = zipfile.ZipFile(zpath)
    for info in zf.infolist():
        name = info.filename.replace("\\", "/")
        if info.is_dir():
            continue
        parts = PurePosixPath(name).parts
        if (name.startswith("/") or re.match(r"^[A-Za-z]:", name) or ".." in parts or not parts):
            intake.note(None, info.filename, "unsafe_zip_entry",
                        "a zip entry pointing outside the folder (absolute or with ../) was skipped")
            continue
        if any(NOISE.match(p) for p in parts) or ".ipynb_checkpoints" in parts:
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            intake.note(None, info.filename, "skipped_link", "a symbolic link in the zip was skipped")
            continue
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            intake.note(None, info.filename, "zip_too_large", "the zip unpacks to more than 4 GB; the rest was skipped")
            break
        import calendar
        mtime = calendar.timegm(info.date_time + (0, 0, 0)) if info.date_time[0] >= 1980 else 0
        files.append(_File(parts, f"{zpath.name}:{info.filename}",
                           (lambda i=info: zf.read(i)), info.file_size, mtime))
    return files


def collect(submissions: Path, notebooks: dict[str, str], pattern: str = DEFAULT_PATTERN,
            ungraded: set[str] = frozenset()) -> Intake:
    """Read ``submissions`` (folder or zip). ``notebooks`` maps notebook -> assignment for
    the graded notebooks; names in ``ungraded`` (e.g. 00_setup) are quietly ignored."""
    submissions = Path(submissions)
    intake = Intake()
    if submissions.is_file() and zipfile.is_zipfile(submissions):
        files = _unwrap(_walk_zip(submissions, intake), notebooks, pattern)
    elif submissions.is_dir():
        files = _walk_dir(submissions, intake)
    else:
        raise ValueError(f"{submissions} is neither a folder nor a .zip file")
    regex = re.compile(pattern)
    taken: dict[str, str] = {}          # safe id -> the raw id it stands for
    for f in files:
        if len(f.parts) > 1:
            student_raw = f.parts[0]
            where = "folder"
        else:
            m = regex.search(f.parts[0])
            if not m or "student" not in m.groupdict() or _is_bare_notebook(f.parts[0], notebooks):
                intake.note(None, f.origin, "no_student",
                            "the file name does not say whose it is (expected a student folder or "
                            f"a name matching {pattern!r}); skipped")
                continue
            student_raw = m.group("student")
            where = "name"
        student = _distinct(student_raw, taken)
        if student != student_raw:
            intake.note(student, f.origin, "student_id_changed",
                        f"student {student_raw!r} is listed as {student!r} (letters, digits, . _ - only)")
        intake.students.setdefault(student, {})
        fname = f.parts[-1]
        rest = fname if where == "folder" else fname[m.end():]
        if not fname.lower().endswith(".ipynb"):
            intake.note(student, f.origin, "ignored_file",
                        f"{fname!r} is not a notebook; only notebooks are graded, and nothing else is "
                        "copied next to them")
            continue
        nb, version, how = identify(rest, {**notebooks, **{u: "" for u in ungraded}})
        if nb in ungraded:
            continue
        if nb is None:
            intake.note(student, f.origin, "unknown_notebook",
                        f"{fname!r} does not name a course notebook; skipped")
            continue
        if f.size > MAX_FILE_BYTES:
            intake.note(student, f.origin, "file_too_large",
                        f"{fname!r} is larger than {MAX_FILE_BYTES // 2**20} MB; skipped", nb)
            continue
        try:
            raw = f.read()
        except (OSError, zipfile.BadZipFile, zlib.error, RuntimeError, EOFError, NotImplementedError) as err:
            intake.note(student, f.origin, "unreadable_file",
                        f"{fname!r} could not be read from the submissions ({type(err).__name__}: {str(err)[:100]}, "
                        "a damaged or encrypted zip entry?); skipped", nb)
            continue
        cand = Candidate(student, notebooks[nb], nb, f.origin, raw, version, f.mtime)
        if rest != f"{nb}.ipynb":
            intake.note(student, f.origin, "renamed",
                        f"{fname!r} was taken as {nb}.ipynb" + (" (found by its number)" if how == "number" else ""),
                        nb)
        old = intake.students[student].get(nb)
        if old is not None:
            newer, older = sorted([old, cand], key=lambda c: (c.version, c.mtime, c.origin))[::-1]
            intake.note(student, older.origin, "duplicate_file",
                        f"two files for {nb}: graded the newest, {newer.origin!r}; ignored {older.origin!r}", nb)
            cand = newer
        intake.students[student][nb] = cand
    return intake


def _is_bare_notebook(fname: str, notebooks: dict[str, str]) -> bool:
    """A file named like a course notebook itself (``03_x.ipynb``, ``Copy of 03_x (1).ipynb``)
    carries no student id."""
    stem = COPY_PREFIX.sub("", fname[:-6] if fname.lower().endswith(".ipynb") else fname)
    stem = DUP_SUFFIX.sub("", stem).strip().lower()
    return any(stem.startswith(n.lower()) for n in notebooks)


def _unwrap(files: list[_File], notebooks: dict[str, str], pattern: str) -> list[_File]:
    """Drop one wrapping folder (``export/alice/...`` or ``export/alice_03.ipynb``)."""
    while files and len({f.parts[0] for f in files}) == 1 and all(len(f.parts) > 1 for f in files):
        inner = [f.parts[1:] for f in files]
        has_folders = any(len(p) > 1 for p in inner)
        regex = re.compile(pattern)
        flat_named = any(regex.search(p[0]) and not _is_bare_notebook(p[0], notebooks)
                         for p in inner if len(p) == 1 and p[0].lower().endswith(".ipynb"))
        if not (has_folders or flat_named):
            break
        files = [_File(f.parts[1:], f.origin, f.read, f.size, f.mtime) for f in files]
    return files
