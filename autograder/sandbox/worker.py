"""A grading worker: grades one (student, assignment) job at a time, in-process.

    python -m autograder.sandbox.worker CONTEXT.json      # jobs as JSON lines on stdin,
                                                  # results as JSON lines on stdout

Each job gets a scratch nbgrader course holding only the assignment's release material
and that one submission, and its own copy of the master gradebook (merged later).
nbgrader's autograde runs with :class:`~autograder.sandbox.execute.SandboxedExecute`, whose
kernels start through the sandbox kernelspec (forked from the worker's pre-imported
:class:`~autograder.sandbox.zygote.Zygote` where the sandbox allows it); then nbgrader's
feedback is made with the hidden tests taken out. The job's result (scores per question, what happened) is
written as JSON next to its gradebook, so a re-run can skip it.

Nothing here trusts the submission: a failure of any kind becomes a "grader error"
result for that job and the worker goes on with the next.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import nbformat

from .sandbox import (KERNEL_NAME, POLICY_ENV, SandboxPlan, acquire_uid_slot, write_kernelspec,
                      write_policy)

RESULT_FORMAT = 1


class Worker:
    """Grades jobs in one process; ``slot`` names its scratch folders, and a free uid slot
    (held for the worker's life) the uid its kernels run as."""

    def __init__(self, ctx: dict):
        self.ctx = ctx
        self.slot = int(ctx["slot"])
        self.plan = SandboxPlan.from_json(ctx["plan"])
        # the kernels' uid: a slot no concurrent grading run on this machine holds
        self.uid_slot = acquire_uid_slot() if self.plan.root else self.slot
        self.master = Path(ctx["master"])
        self.base = Path(ctx["workdir"]) / f"worker-{self.slot}"
        shutil.rmtree(self.base, ignore_errors=True)
        self.base.mkdir(parents=True)
        # a short runtime folder: ipc socket paths must stay under ~100 characters
        self.runtime = Path(tempfile.mkdtemp(prefix=f"agrt{self.slot}-"))
        self.plan.prepare_dirs(self.uid_slot, self.runtime)
        jdir = self.base / "jupyter"
        for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                         ("IPYTHONDIR", "ipython")):
            (jdir / sub).mkdir(parents=True, exist_ok=True)
            os.environ[var] = str(jdir / sub)
        os.environ["JUPYTER_RUNTIME_DIR"] = str(self.runtime)
        os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
        os.environ.pop("NBGRADER_EXECUTION", None)
        write_kernelspec(jdir / "data", self.plan.python)
        self.mpl = self._matplotlib_cache(jdir / "mpl")
        self._converters = None
        self.zygote = None
        if self.plan.forks_kernels and ctx.get("zygote", True):
            from .zygote import Zygote
            self.zygote = Zygote(self.plan, self.uid_slot, release_root=self.master / "release",
                                 runtime_dir=self.runtime, mpl_dir=self.mpl,
                                 threads=int(ctx.get("threads", 1)),
                                 log_path=self.base / "zygote.log")

    def close(self) -> None:
        if self.zygote is not None:
            self.zygote.stop()
        shutil.rmtree(self.runtime, ignore_errors=True)

    def stop(self) -> None:
        """SIGTERM from the pool: kill the kernel (every process of its uid) and exit now."""
        from .execute import _processes_of

        uid = self.plan.kernel_uid(self.uid_slot)
        victims = [pid for pid, _ in _processes_of(uid, include_dead=True)] if uid is not None else []
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in _children(os.getpid()):     # the kernel's launcher leads its own session
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        self.close()
        os._exit(143)

    def _matplotlib_cache(self, folder: Path) -> Path | None:
        """Build Matplotlib's font cache once, so each kernel need not."""
        try:
            import subprocess
            folder.mkdir(parents=True, exist_ok=True)
            subprocess.run([self.plan.python, "-c", "import matplotlib.font_manager"],
                           env={**os.environ, "MPLCONFIGDIR": str(folder)}, capture_output=True,
                           timeout=120, check=True)
            for p in folder.iterdir():
                os.chmod(p, 0o644)
            os.chmod(folder, 0o755)
            return folder
        except Exception:
            return None

    # ------------------------------------------------------------------ one job
    def grade(self, job: dict) -> dict:
        start = time.monotonic()
        result = {"format": RESULT_FORMAT, "student": job["student"], "assignment": job["assignment"],
                  "fingerprint": job["fingerprint"], "ok": False, "error": None, "notebooks": {}}
        self.timing = {}
        try:
            result["notebooks"] = self._grade(job)
            result["ok"] = True
            result.update(self.timing)
        except Exception:
            result["error"] = traceback.format_exc(limit=8)
        result["seconds"] = round(time.monotonic() - start, 2)
        Path(job["result_path"]).parent.mkdir(parents=True, exist_ok=True)
        Path(job["result_path"]).write_text(json.dumps(result, indent=1), encoding="utf-8")
        return result

    def _grade(self, job: dict) -> dict:
        from nbgrader.converters import Autograde, GenerateFeedback
        from nbgrader.coursedir import CourseDirectory

        self._t_job = time.monotonic()

        student, assignment = job["student"], job["assignment"]
        course = self.base / "course"
        shutil.rmtree(course, ignore_errors=True)
        release = self.master / "release" / assignment
        source = course / "source" / assignment
        source.mkdir(parents=True)
        for item in release.iterdir():   # release material other than notebooks
            if item.suffix != ".ipynb":
                (shutil.copytree if item.is_dir() else shutil.copyfile)(item, source / item.name)
        submitted = course / "submitted" / student / assignment
        submitted.mkdir(parents=True)
        for name in job["notebooks"]:
            shutil.copyfile(Path(job["submitted_dir"]) / f"{name}.ipynb", submitted / f"{name}.ipynb")
        gradebook = Path(job["gradebook_path"])
        gradebook.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.master / "gradebook.db", gradebook)
        events = self.base / "events.jsonl"
        events.unlink(missing_ok=True)
        timing = self.base / "timing.jsonl"
        timing.unlink(missing_ok=True)
        for stale in self.runtime.iterdir():   # sockets and connection files of old kernels
            stale.unlink(missing_ok=True)

        work = self.base / "box"
        shutil.rmtree(work, ignore_errors=True)
        self.plan.prepare_dirs(self.uid_slot, work)
        argv, env = self.plan.kernel_argv(self.uid_slot, release_dir=release, runtime_dir=self.runtime,
                                          workdir=work, mpl_dir=self.mpl,
                                          threads=int(self.ctx.get("threads", 1)))
        zygote = self.zygote.policy(assignment) if self.zygote is not None and self.zygote.ready() else None
        policy = write_policy(self.base / "policy.json", argv, env, self.plan.kernel_uid(self.uid_slot),
                              self.runtime, zygote)
        os.environ[POLICY_ENV] = str(policy)

        self._write_probe_context(job, submitted)

        if self._converters is None:
            # made once per worker: nbconvert compiles its templates once, not per job
            config = self._config(course, events)
            coursedir = CourseDirectory(config=config)
            log = logging.getLogger(f"autograder.sandbox.worker{self.slot}")
            self._converters = (coursedir, Autograde(coursedir=coursedir, config=config, log=log),
                                GenerateFeedback(coursedir=coursedir, config=config, log=log))
        coursedir, autograde, fb = self._converters
        coursedir.db_url = f"sqlite:///{gradebook}"
        coursedir.assignment_id = assignment
        coursedir.student_id = student
        autograde.force = True
        error = None
        t_start = time.monotonic()
        try:
            autograde.start()
        except BaseException as err:   # nbgrader raises on a failed notebook; keep going
            if isinstance(err, KeyboardInterrupt):
                raise
            error = f"{type(err).__name__}: {err}"
        t_autograded = time.monotonic()
        autograded = course / "autograded" / student / assignment
        feedback_ok = False
        self._write_notes(job, events, self.base / "notes.json")
        if autograded.is_dir() and any(autograded.glob("*.ipynb")):
            fb.force = True
            try:
                fb.start()
                feedback_ok = True
            except BaseException as err:
                if isinstance(err, KeyboardInterrupt):
                    raise
        t_feedback = time.monotonic()
        self._export(job, course, feedback_ok)
        result = self._collect(job, gradebook, autograded, events, error)
        self._mark_pending(job, result)
        t_collected = time.monotonic()
        self.timing = {"course_s": round(t_start - self._t_job, 2),
                       "autograde_s": round(t_autograded - t_start, 2),
                       "feedback_s": round(t_feedback - t_autograded, 2),
                       "collect_s": round(t_collected - t_feedback, 2),
                       "notebooks_timing": [json.loads(l) for l in timing.read_text().splitlines()]
                       if timing.is_file() else []}
        return result

    def _write_probe_context(self, job: dict, submitted: Path) -> None:
        """What the Execute step needs to run each test cell as a probe: in ``reference``
        mode (the instructor's solution) the probes, made from the solution notebook, and
        where its reports go; otherwise the probes and the reference reports."""
        from .reference import probes_for, reference_path

        mode = job.get("mode", "student")
        notebooks = {}
        for name in job["notebooks"]:
            if mode == "reference":
                nb = nbformat.read(submitted / f"{name}.ipynb", as_version=4)
                out = Path(job["reference_dir"]) / f"{name}.records.json"
                notebooks[name] = {"probes": {g: p.to_json() for g, p in probes_for(nb).items()},
                                   "reference_out": str(out)}
            else:
                path = reference_path(Path(self.ctx["reference"]), job["assignment"], name)
                # the handed-in file: what the student's own run recorded is read from it (recorded.py)
                notebooks[name] = {"reference_file": str(path), "submitted_file": str(submitted / f"{name}.ipynb")}
        (self.base / "probe_context.json").write_text(json.dumps({"mode": mode, "notebooks": notebooks}),
                                                      encoding="utf-8")

    @staticmethod
    def _mark_pending(job: dict, result: dict) -> None:
        """Written answers wait for a person: their feedback says pending, not 0."""
        from ..course.feedback import mark_pending

        for name, entry in result.items():
            pending = {g["grade_id"]: float(g["max_score"]) for g in entry["grades"]
                       if g["kind"] == "written" and g["needs_manual_grade"]}
            page = Path(job["feedback_dir"]) / f"{name}.html"
            if pending and page.is_file():
                page.write_text(mark_pending(page.read_text(encoding="utf-8"), pending), encoding="utf-8")

    @staticmethod
    def _write_notes(job: dict, events: Path, path: Path) -> None:
        """Plain sentences for the student's feedback: repairs and what happened while running."""
        notes: dict[str, list[str]] = {}
        for name, found in job.get("repair", {}).items():
            notes.setdefault(name, []).extend(n["detail"] for n in found)
        if events.is_file():
            for line in events.read_text(encoding="utf-8").splitlines():
                e = json.loads(line)
                where = (f"cell `{e['grade_id']}`" if e.get("grade_id") else
                         f"cell {e['cell'] + 1}" if e.get("cell") is not None else "the notebook")
                notes.setdefault(e["notebook"], []).append(f"{where}: {e['detail']}")
        path.write_text(json.dumps(notes), encoding="utf-8")

    def _config(self, course: Path, events: Path):
        from nbconvert.preprocessors import ClearMetadataPreprocessor
        from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, GetGrades,
                                            IgnorePattern, LimitOutput, SaveAutoGrades)
        from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
        from traitlets.config import Config

        from .execute import SandboxedExecute
        from ..course.feedback import GraderNotes, HideHiddenTests, SubmittedOutputs

        c = Config()
        c.CourseDirectory.root = str(course)
        c.CourseDirectory.source_directory = "source"
        c.CourseDirectory.submitted_directory = "submitted"
        c.CourseDirectory.autograded_directory = "autograded"
        c.CourseDirectory.feedback_directory = "feedback"
        c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]
        c.Autograde.autograde_preprocessors = [SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor,
                                               LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                               CheckCellMetadata]
        c.SandboxedExecute.kernel_name = KERNEL_NAME
        c.SandboxedExecute.timeout = int(self.ctx["cell_timeout"])
        c.SandboxedExecute.notebook_timeout = int(self.ctx["notebook_timeout"])
        c.SandboxedExecute.startup_timeout = 120
        c.SandboxedExecute.iopub_timeout = 15
        c.SandboxedExecute.shutdown_kernel = "immediate"
        c.SandboxedExecute.events_file = str(events)
        c.SandboxedExecute.timing_file = str(self.base / "timing.jsonl")
        c.SandboxedExecute.probe_context = str(self.base / "probe_context.json")
        uid = self.plan.kernel_uid(self.uid_slot)
        c.SandboxedExecute.kernel_uid = -1 if uid is None else uid
        c.SandboxedExecute.runtime_dir = str(self.runtime)
        # ipc sockets in the runtime folder (bound into the sandbox): a kernel in its own
        # network namespace cannot reach the grader's loopback TCP ports
        c.KernelManager.transport = "ipc"
        c.KernelManager.ip = str(self.runtime / "k")
        c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, SubmittedOutputs, GraderNotes,
                                            CSSHTMLHeaderPreprocessor]
        c.SubmittedOutputs.submitted_root = str(course / "submitted")
        c.GraderNotes.notes_file = str(self.base / "notes.json")
        c.GenerateFeedback.exporter_class = "autograder.course.feedback_math.OfflineMathHTMLExporter"  # no CDN
        return c

    def _export(self, job: dict, course: Path, feedback_ok: bool) -> None:
        student, assignment = job["student"], job["assignment"]
        for step, dest in (("autograded", job["autograded_dir"]), ("feedback", job["feedback_dir"])):
            dest = Path(dest)
            shutil.rmtree(dest, ignore_errors=True)
            src = course / step / student / assignment
            if src.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                for f in src.iterdir():
                    if f.suffix in (".ipynb", ".html"):
                        shutil.copyfile(f, dest / f.name)
                        os.chmod(dest / f.name, 0o644)

    # ------------------------------------------------------------------ results
    def _collect(self, job: dict, gradebook: Path, autograded: Path, events: Path,
                 error: str | None) -> dict:
        from nbgrader.api import Gradebook, MissingEntry

        evs: dict[str, list] = {}
        if events.is_file():
            for line in events.read_text(encoding="utf-8").splitlines():
                e = json.loads(line)
                evs.setdefault(e.pop("notebook"), []).append(e)
        out: dict = {}
        with Gradebook(f"sqlite:///{gradebook}") as gb:
            for name in job["expected"]:
                entry = {"submitted": name in job["notebooks"], "grades": [], "events": evs.get(name, [])}
                outputs, cells = _test_outputs(autograded / f"{name}.ipynb")
                for e in entry["events"]:
                    e["affects"] = _affected(cells, e)
                entry["graded"] = (autograded / f"{name}.ipynb").is_file()
                try:
                    nb = gb.find_submission_notebook(name, job["assignment"], job["student"])
                    grades = sorted(nb.grades, key=lambda g: _order(job, name, g.name))
                except MissingEntry:
                    grades = []
                for g in grades:
                    entry["grades"].append({
                        "grade_id": g.name, "score": g.score, "auto_score": g.auto_score,
                        "max_score": g.max_score, "needs_manual_grade": bool(g.needs_manual_grade),
                        "kind": _kind(job, name, g.name, g.cell.cell_type),
                        "output": outputs.get(g.name)})
                out[name] = entry
        if error:
            for name, entry in out.items():
                if entry["submitted"] and not entry["graded"]:
                    entry["events"].append({"kind": "grader_error", "cell": None, "grade_id": None,
                                            "test": False, "detail": error})
        return out


def _children(parent: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", encoding="utf-8") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                        out.append(int(name))
            except (OSError, ValueError, IndexError):
                continue
    return out


_ORDER_CACHE: dict = {}


def _release_cells(job: dict, name: str) -> list[dict]:
    key = (job["release_dir"], name)
    if key not in _ORDER_CACHE:
        nb = nbformat.read(Path(job["release_dir"]) / f"{name}.ipynb", as_version=4)
        _ORDER_CACHE[key] = [c.get("metadata", {}).get("nbgrader", {}) for c in nb.cells]
    return _ORDER_CACHE[key]


def _order(job: dict, name: str, gid: str) -> int:
    ids = [m.get("grade_id") for m in _release_cells(job, name)]
    return ids.index(gid) if gid in ids else len(ids)


def _kind(job: dict, name: str, gid: str, cell_type: str) -> str:
    """"test" (a test cell), "answer" (an autograded-answer code cell) or "written"."""
    if cell_type == "markdown":
        return "written"
    for m in _release_cells(job, name):
        if m.get("grade_id") == gid and m.get("solution"):
            return "answer"
    return "test"


def _test_outputs(path: Path) -> tuple[dict[str, dict], list[dict]]:
    """What each graded cell of the autograded notebook showed (its first error), and
    per cell: grade id, whether it is a test or an answer, whether it was not run."""
    if not path.is_file():
        return {}, []
    nb = nbformat.read(path, as_version=4)
    out, cells = {}, []
    answer_error = None   # the error of the latest answer cell: its tests come after it
    answered = True       # whether that answer cell no longer holds the release's stub
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id")
        first = next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)
        test = bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"
        cells.append({"grade_id": gid, "solution": bool(meta.get("solution")), "test": test,
                      "not_run": bool(first is not None and first.ename == "NotRun")})
        if meta.get("solution") and cell.cell_type == "code":
            answer_error = first.ename if first is not None else None
            answered = not _still_stub(cell.source)
        if gid and cell.cell_type == "code" and first is not None:
            out[gid] = {"ename": first.ename, "evalue": str(first.evalue)[:500],
                        "answer_error": answer_error if test else None,
                        "answered": answered if test else None}
    return out, cells


def _still_stub(source: str) -> bool:
    """Whether an answer cell still raises NotImplementedError as released (a line of
    its own), i.e. the student did not answer it."""
    return any(line.strip() == "raise NotImplementedError()" for line in source.splitlines())


def _affected(cells: list[dict], event: dict) -> list[str]:
    """Test cells an event bears on: the cell itself when it is a test; else the tests
    that follow it up to the next answer cell (the tests of that exercise); for giving
    up, every test left unrun."""
    if event["kind"] == "kernel_start_failed":
        return [c["grade_id"] for c in cells if c["test"] and c["not_run"]]
    i = event.get("cell")
    if i is None or i >= len(cells):
        return []
    if event["kind"] in ("gave_up", "notebook_time_limit"):
        return [c["grade_id"] for c in cells[i:] if c["test"] and (c["not_run"] or c is cells[i])]
    if cells[i]["test"]:
        return [cells[i]["grade_id"]]
    out = []
    for c in cells[i + 1:]:
        if c["solution"]:
            break
        if c["test"]:
            out.append(c["grade_id"])
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ctx = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    logging.basicConfig(level=logging.CRITICAL)
    worker = Worker(ctx)
    signal.signal(signal.SIGTERM, lambda signum, frame: worker.stop())
    out = sys.stdout
    sys.stdout = sys.stderr   # nbgrader and kernels must not write into the result channel
    try:
        print(json.dumps({"ready": True}), file=out, flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            job = json.loads(line)
            result = worker.grade(job)
            print(json.dumps({"done": job["key"], "ok": result["ok"], "seconds": result.get("seconds")}),
                  file=out, flush=True)
    finally:
        worker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
