"""nbgrader's Execute step, hardened for untrusted notebooks.

Plain nbgrader loses a student's whole assignment when the kernel dies (``os._exit``,
a memory or CPU limit, a kernel that ignores interrupts) and zeroes a test cell for any
stderr line. :class:`SandboxedExecute` replaces nbgrader's ``Execute`` in the
autograde pipeline and instead:

- gives every cell a time limit and the notebook as a whole a wall-clock limit; a cell
  over its limit gets its kernel killed (the sandbox goes with it, so a loop that
  ignores SIGINT or a fork bomb cannot outlive it);
- when the kernel dies or is killed, marks that cell with an error saying why, starts
  a fresh kernel, silently re-runs the cells that had completed (to rebuild the state
  later cells need) and carries on: the other questions are graded normally;
- caps each cell's output (a cell printing 100 MB keeps its first megabytes and a note);
- runs every test cell as a *probe* (``autograder/course/probes.py``): the student's
  kernel reports what each check was given, as plain data, and the verdict is decided
  here, in the grader's process, against the reference run of the instructor's solution
  (:mod:`autograder.sandbox.judge`); the cell's outputs become the grader's own message,
  so nothing the kernel printed or returned during a test decides a score or reaches
  the student. In ``reference`` mode the same runs record the reference reports;

Everything noteworthy goes to ``events_file`` (JSON lines) for the report.
"""
from __future__ import annotations

import ast
import asyncio
import copy
import json
import os
import re
import secrets
import signal
from time import monotonic

from jupyter_core.utils import ensure_async, run_sync
from nbclient.client import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from ..course.probes import Probes
from .judge import judge
from .recorded import run_records
from .kernel_probe import MIME

PROBE_LINE = "__probe__ = __import__('__autograder_probe__').begin({token!r})\n"
#: Ends each part of a test: a tracer or timer the part's student code set up is stopped before
#: the next part (the hidden one) is sent to the kernel.
QUIET_LINE = "__import__('__autograder_probe__').quiet()\n"
#: Errors in non-test cells worth a line in the report (others are ordinary wrong answers).
NOTABLE_ERRORS = {"MemoryError", "SystemExit", "KeyboardInterrupt", "PermissionError", "FileNotFoundError",
                  "BlockingIOError", "RecursionError", "OSError", "ConnectionError",
                  "ConnectionRefusedError", "gaierror", "TimeoutError", "ChildProcessError",
                  "SyntaxError", "IndentationError", "TabError"}


class KernelTimedOut(Exception):
    """A cell ran past its limit; the kernel is killed."""


def is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _cell_class(cell) -> str:
    """"setup", "test", "answer" (a student's cell) or "course" (a read-only course cell)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if meta.get("grade_id") == "setup":
        return "setup"
    if is_test_cell(cell):
        return "test"
    return "course" if meta.get("locked") and not meta.get("solution") else "answer"


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _size(content: dict) -> int:
    if "text" in content:
        return len(content["text"])
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v))
               for v in content.get("data", {}).values())


class SandboxedExecute(Execute):
    """Execute that survives hostile notebooks (see the module docstring)."""

    notebook_timeout = Integer(600, help="Wall-clock seconds for a whole notebook.").tag(config=True)
    max_output_bytes = Integer(2_000_000, help="Output kept per cell.").tag(config=True)
    max_restarts = Integer(3, help="Kernel restarts per notebook before giving up.").tag(config=True)
    probe_context = Unicode("", help="JSON file: the mode ('student' or 'reference'), each notebook's "
                                     "probes and reference reports, and where reference reports go"
                            ).tag(config=True)
    events_file = Unicode("", help="JSON-lines file for the report's events.").tag(config=True)
    timing_file = Unicode("", help="JSON-lines file: where each notebook's grading time went").tag(config=True)
    kernel_uid = Integer(-1, help="uid the kernel runs as (-1: its own); its stray "
                                  "processes are killed after each cell").tag(config=True)
    runtime_dir = Unicode("", help="the folder shared with the sandbox (ipc sockets); emptied "
                                   "before every kernel start").tag(config=True)

    # ------------------------------------------------------------- entry point
    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._events: list[dict] = []
        self._cell_bytes: dict[int, int] = {}
        self._truncated: set[int] = set()
        self._deadline = monotonic() + self.notebook_timeout
        self._last_limit_was_cell = True
        self._records: dict[int, list[dict]] = {}
        self._timing: dict[str, float] = {}
        started = monotonic()
        self._load_probes()
        self._add_time("load_probes_s", monotonic() - started)
        try:
            run_sync(self._async_run_notebook)()
        finally:
            self._add_time("execute_s", monotonic() - started)
            self._write_events()
            self._write_reference()
            self._write_timing()
        self.set_widgets_metadata()
        return self.nb, self.resources

    # ------------------------------------------------------------- the loop
    async def _async_run_notebook(self) -> None:
        done: list[int] = []            # code cells that completed, for a replay
        restarts = 0
        gave_up = ""
        try:
            await self._async_boot()
        except RuntimeError as err:
            gave_up = str(err)
            self._event("kernel_start_failed", None, f"{err}; nothing in this notebook ran")
        try:
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                if not gave_up and monotonic() >= self._deadline:
                    gave_up = f"the notebook's time limit ({self.notebook_timeout} s) was reached"
                    self._event("notebook_time_limit", index, gave_up)
                if gave_up:
                    self._mark_not_run(cell, gave_up)
                    continue
                try:
                    ran = monotonic()
                    await self._async_run_cell(cell, index, execution_count=self.code_cells_executed + 1)
                    self._add_time(f"cells_{_cell_class(cell)}_s", monotonic() - ran)
                    if not is_test_cell(cell):
                        self._note_error(cell, index)
                    self._reap(index)
                    if any(o.output_type == "error" and o.ename == "MemoryError" for o in cell.outputs):
                        # whatever filled the memory is still referenced: start afresh without it
                        await self._async_discard_kernel()
                        restarts += 1
                        problem = await self._async_restart_and_replay(done)
                        if problem:
                            gave_up = problem
                            self._event("gave_up", index, gave_up)
                        continue
                    done.append(index)
                    continue
                except KernelTimedOut:
                    limit = self._cell_limit()
                    reason = (f"this cell ran longer than its time limit ({limit} s) and was stopped"
                              if self._last_limit_was_cell else
                              f"the notebook's time limit ({self.notebook_timeout} s) ran out in this cell")
                    kind = "cell_timeout" if self._last_limit_was_cell else "notebook_time_limit"
                except (DeadKernelError, CellTimeoutError, RuntimeError) as err:
                    reason = self._death_reason(err)
                    kind = "kernel_died"
                self._cancel_stray_tasks()
                self._add_error(cell, "KernelStopped", reason)
                self._event(kind, index, reason)
                strays = max(0, len(_processes_of(self.kernel_uid)) - 1) if self.kernel_uid >= 0 else 0
                if strays:
                    self._event("stray_processes", index,
                                f"the cell had started {strays} process(es) (a fork bomb?); the sandbox "
                                "was killed with all of them")
                await self._async_discard_kernel()
                restarts += 1
                if restarts > self.max_restarts:
                    gave_up = f"the kernel had to be restarted {self.max_restarts} times already"
                    self._event("gave_up", index, gave_up)
                    continue
                problem = await self._async_restart_and_replay(done)
                if problem:
                    gave_up = problem
                    self._event("gave_up", index, gave_up)
        finally:
            self._cancel_stray_tasks()
            await self._async_discard_kernel()

    # ------------------------------------------------------------- kernels
    async def _async_boot(self) -> None:
        started = monotonic()
        try:
            await self._async_boot_kernel()
        finally:
            self._add_time("kernel_start_s", monotonic() - started)

    async def _async_boot_kernel(self) -> None:
        await self._async_clear_uid()
        self._empty_runtime_dir()
        self.km = self.create_kernel_manager()
        try:
            await self.async_start_new_kernel()
        except Exception as err:
            raise RuntimeError(f"the grading kernel could not be started: {err}") from err
        self.kc = self.km.client()
        await ensure_async(self.kc.start_channels())
        self.kc.allow_stdin = False
        # ready when kernel_info is answered on shell and its status shows on iopub (then
        # iopub is subscribed); jupyter_client's own wait adds fixed 0.2 s pauses
        end = monotonic() + self.startup_timeout
        while True:
            msg_id = await ensure_async(self.kc.kernel_info())
            reply = await self._async_reply(msg_id, min(5.0, max(0.1, end - monotonic())))
            if reply is not None and await self._async_iopub_seen(msg_id, 0.25):
                break
            if monotonic() > end or not await ensure_async(self.km.is_alive()):
                await self._async_discard_kernel()
                raise RuntimeError("the grading kernel did not start (see the worker log)")
        self.nb.metadata["language_info"] = reply["content"].get("language_info", {})

    def _empty_runtime_dir(self) -> None:
        """Nothing a previous kernel left in the shared folder (a file for the next student,
        a link where a socket will be) survives."""
        if not self.runtime_dir or not os.path.isdir(self.runtime_dir):
            return
        for entry in os.scandir(self.runtime_dir):
            try:
                if entry.is_dir(follow_symlinks=False):
                    import shutil
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass

    async def _async_iopub_seen(self, msg_id: str, timeout: float) -> bool:
        end = monotonic() + timeout
        while monotonic() < end:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=max(0.01, end - monotonic())))
            except Exception:
                return False
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
        return False

    async def _async_discard_kernel(self) -> None:
        km, kc = self.km, getattr(self, "kc", None)
        self.km, self.kc = None, None
        if kc is not None:
            try:
                kc.stop_channels()
            except Exception:
                pass
        if km is not None:
            try:
                if await ensure_async(km.is_alive()):
                    await ensure_async(km.shutdown_kernel(now=True))
            except Exception:
                pass
            try:
                await ensure_async(km.cleanup_resources())
            except Exception:
                pass
        await self._async_clear_uid()

    async def _async_clear_uid(self) -> None:
        """Wait until no process of the kernel's user is left (killing any), so that the
        next kernel starts with its whole process allowance."""
        if self.kernel_uid < 0:
            return
        for _ in range(500):
            procs = _processes_of(self.kernel_uid, include_dead=True)
            if not procs:
                return
            for pid, _start in procs:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            await asyncio.sleep(0.02)

    async def _async_restart_and_replay(self, done: list[int]) -> str:
        """Fresh kernel, completed cells re-run silently; returns a problem or ''."""
        try:
            await self._async_boot()
        except Exception as err:
            return f"a fresh kernel could not be started ({err})"
        for i in done:
            original = self.nb.cells[i]
            replay = copy.deepcopy(original)
            try:
                await self._async_run_cell(replay, i, store_history=False, quiet=True)
                self._reap(None)
            except (KernelTimedOut, DeadKernelError, CellTimeoutError, RuntimeError):
                self._cancel_stray_tasks()
                await self._async_discard_kernel()
                return "re-running the earlier cells in a fresh kernel failed too"
            finally:
                self.nb.cells[i] = original
        return ""

    async def _async_reply(self, msg_id: str, timeout: float) -> dict | None:
        end = monotonic() + timeout
        while monotonic() < end:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=min(1.0, end - monotonic())))
            except Exception:
                if not await ensure_async(self.kc.is_alive()):
                    return None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    def _cancel_stray_tasks(self) -> None:
        """nbclient leaves its polling tasks behind when a cell fails hard."""
        current = asyncio.current_task()
        for task in asyncio.all_tasks():
            name = getattr(task.get_coro(), "__qualname__", "")
            if task is not current and name.split(".")[-1] in (
                    "_async_poll_output_msg", "_async_poll_kernel_alive", "_async_poll_for_reply"):
                task.cancel()

    def _death_reason(self, err: Exception) -> str:
        if isinstance(err, CellTimeoutError):
            return "the kernel stopped responding in this cell and was stopped"
        if isinstance(err, DeadKernelError):
            return ("the kernel died while running this cell (it exited, or hit the memory, "
                    "process or CPU limit)")
        return f"the kernel failed while running this cell ({err})"

    # ------------------------------------------------------------- time limits
    def _cell_limit(self) -> int:
        return int(self.timeout or 0) or self.notebook_timeout

    def _get_timeout(self, cell):
        remaining = max(1, int(self._deadline - monotonic()))
        limit = self._cell_limit()
        self._last_limit_was_cell = limit <= remaining
        return min(limit, remaining)

    async def _async_handle_timeout(self, timeout, cell=None):
        raise KernelTimedOut()

    # ------------------------------------------------------------- outputs
    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        self._cell_bytes[cell_index] = 0
        self._truncated.discard(cell_index)
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    def output(self, outs, msg, display_id, cell_index):
        msg_type = msg["msg_type"]
        if msg_type == "display_data" and MIME in msg["content"].get("data", {}):
            record = msg["content"]["data"][MIME]
            if isinstance(record, dict):
                self._records.setdefault(cell_index, []).append(record)
            return None
        if msg_type in ("stream", "display_data", "execute_result", "update_display_data"):
            size = _size(msg["content"])
            used = self._cell_bytes.get(cell_index, 0)
            self._cell_bytes[cell_index] = used + size
            if used + size > self.max_output_bytes and not (msg_type == "execute_result" and size < 10_000):
                if cell_index not in self._truncated:
                    self._truncated.add(cell_index)
                    mb = self.max_output_bytes / 1e6
                    outs.append(new_output("stream", name="stdout",
                                           text=f"\n[grader: output cut off here; only the first {mb:g} MB "
                                                f"of a cell's output is kept]\n"))
                    self._event("output_truncated", cell_index,
                                f"the cell printed more than {mb:g} MB; the rest was dropped")
                return None
        return super().output(outs, msg, display_id, cell_index)

    def _note_error(self, cell, index: int) -> None:
        for o in cell.outputs:
            if o.output_type == "error" and o.ename in NOTABLE_ERRORS:
                self._event("answer_error", index, f"{o.ename}: {str(o.evalue)[:160]}")
                return

    def _add_error(self, cell, ename: str, evalue: str) -> None:
        cell.setdefault("outputs", [])
        cell.outputs.append(new_output("error", ename=ename, evalue=evalue,
                                       traceback=[f"{ename}: {evalue}"]))

    def _mark_not_run(self, cell, reason: str) -> None:
        cell.outputs = []
        self._add_error(cell, "NotRun", f"not run: {reason}")

    # ------------------------------------------------------------- test cells
    def _load_probes(self) -> None:
        self._mode, self._probes, self._reference, self._reference_out = "", {}, {}, ""
        self._literals = None
        self._run_records = None
        if not self.probe_context:
            return
        with open(self.probe_context, encoding="utf-8") as f:
            ctx = json.load(f)
        notebook = (self.resources or {}).get("nbgrader", {}).get("notebook")
        entry = ctx.get("notebooks", {}).get(notebook, {})
        self._mode = ctx.get("mode", "student")
        # a student's own run, as recorded in the file handed in (read here, before it runs again)
        self._run_records = run_records(entry.get("submitted_file")) if self._mode != "reference" else None
        if entry.get("reference_file"):
            with open(entry["reference_file"], encoding="utf-8") as f:
                entry = json.load(f)
        self._probes = {gid: Probes.from_json(p) for gid, p in entry.get("probes", {}).items()}
        self._reference = entry.get("reference", {})
        self._reference_out = entry.get("reference_out", "")
        self._reference_records: dict[str, list[dict]] = {}

    def _notebook_literals(self) -> list[str]:
        """The hidden tests' constants of every test cell of this notebook."""
        if self._literals is None:
            self._literals = sorted({lit for p in self._probes.values() for lit in p.hidden_literals})
        return self._literals

    def _raising_exercise(self, error) -> str | None:
        """The exercise (a function of an answer cell) whose code raised ``error``, if the
        traceback names one: the innermost frame that is one of them."""
        names = getattr(self, "_exercise_names", None)
        if names is None:
            names = self._exercise_names = _answer_functions(self.nb)
        frames = re.findall(r"line \d+, in (\w+)", ANSI.sub("", "\n".join(error.get("traceback", []))))
        return next((f for f in reversed(frames) if f in names), None)

    def _add_time(self, what: str, seconds: float) -> None:
        self._timing[what] = self._timing.get(what, 0.0) + seconds

    def _write_timing(self) -> None:
        if not self.timing_file:
            return
        notebook = (self.resources or {}).get("nbgrader", {}).get("notebook")
        with open(self.timing_file, "a", encoding="utf-8") as f:
            f.write(json.dumps({"notebook": notebook, **{k: round(v, 3) for k, v in self._timing.items()}}) + "\n")

    def _write_reference(self) -> None:
        if self._mode == "reference" and self._reference_out:
            with open(self._reference_out, "w", encoding="utf-8") as f:
                json.dump(self._reference_records, f)

    async def _async_run_cell(self, cell, index: int, execution_count=None, store_history=True,
                              quiet: bool = False) -> None:
        """Run one code cell; a test cell as its probe, judged here."""
        probes = self._probes.get(grade_id(cell)) if is_test_cell(cell) else None
        if probes is None:
            if is_test_cell(cell) and self._mode:
                self._add_error(cell, "GraderError", "the grader has no probe for this test")
                self._event("grader_error", index, "no probe for this test cell (the course changed?)")
                return
            await self.async_execute_cell(cell, index, execution_count=execution_count,
                                          store_history=store_history)
            return
        source = cell.source
        token = secrets.token_hex(8)
        code = probes.reference if self._mode == "reference" else probes.student
        # the visible and hidden parts run as separate requests: the hidden part's code reaches the
        # kernel only once the visible part is over, and which part a report or an error came from
        # is known here, not taken from the kernel (its own phase reports are dropped)
        records, outputs = [], []
        try:
            for n, (phase, part) in enumerate(split_phases(code)):
                if n == 0:
                    part = PROBE_LINE.format(token=token) + part
                elif not part.strip():
                    continue
                records.append({"phase": phase, "token": token})
                cell.source = part + ("" if part.endswith("\n") else "\n") + QUIET_LINE
                self._records.pop(index, None)
                # out of IPython's input history (In, _ih, _i): code the test calls, or a later cell,
                # cannot read the test's source from there
                await self.async_execute_cell(cell, index, execution_count=execution_count, store_history=False)
                outputs.extend(cell.outputs)
                records.extend(r for r in self._records.pop(index, []) if "phase" not in r)
                if any(o.output_type == "error" for o in cell.outputs):
                    break
        finally:
            cell.source = source
        cell.outputs = outputs
        if quiet:
            return
        first = next((o for o in cell.outputs if o.output_type == "error"), None)
        error = None if first is None else {"ename": first.ename, "evalue": str(first.evalue),
                                            "exercise": self._raising_exercise(first)}
        if self._mode == "reference":
            self._reference_records[probes.grade_id] = [{k: v for k, v in r.items() if k != "token"}
                                                        for r in records if r.get("token") == token]
            reference = self._reference_records[probes.grade_id]
        else:
            reference = self._reference.get(probes.grade_id, [])
        judged = monotonic()
        # messages are kept from quoting any test's hidden constants, not only this test's
        verdict = judge(probes, reference, records, error, token, self._run_records, self._notebook_literals())
        self._add_time("judge_s", monotonic() - judged)
        if verdict.passed and any(o.output_type == "stream" and o.name == "stderr" for o in cell.outputs):
            self._event("stderr_in_test", index, "the test's code wrote to stderr (warnings): the verdict "
                                                 "does not depend on the output, so it cost nothing")
        cell.outputs = []
        notes = "".join(f"Note: {n}\n" for n in verdict.notes)
        if verdict.passed:
            cell.outputs.append(new_output("stream", name="stdout", text="All checks of this test passed.\n" + notes))
        else:
            if notes:
                cell.outputs.append(new_output("stream", name="stdout", text=notes))
            self._add_error(cell, verdict.ename, verdict.message)
        if self._mode == "reference" and not verdict.passed:
            self._event("reference_failed", index, f"the instructor's solution fails this test: {verdict.detail}")
        for flag in verdict.flags:
            self._event("manual_review", index, flag)

    # ------------------------------------------------------------- processes
    def _reap(self, index: int | None) -> None:
        """Kill processes student code left behind (a fork bomb's children, background
        jobs): every process of the kernel's user except the oldest, the kernel."""
        if self.kernel_uid < 0:
            return
        procs = _processes_of(self.kernel_uid)
        if len(procs) <= 1:
            return
        procs.sort(key=lambda p: p[1])
        stray = [pid for pid, _ in procs[1:]]
        for pid in stray:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if index is not None:
            self._event("stray_processes", index,
                        f"the cell left {len(stray)} process(es) running (a fork bomb or background job); "
                        "they were killed")

    # ------------------------------------------------------------- events
    def _event(self, kind: str, index: int | None, detail: str) -> None:
        cell = self.nb.cells[index] if index is not None else None
        self._events.append({"kind": kind, "cell": index,
                             "grade_id": grade_id(cell) if cell is not None else None,
                             "test": bool(cell is not None and is_test_cell(cell)),
                             "detail": detail})

    def _write_events(self) -> None:
        if not self.events_file:
            return
        notebook = (self.resources or {}).get("nbgrader", {}).get("notebook")
        with open(self.events_file, "a", encoding="utf-8") as f:
            for e in self._events:
                f.write(json.dumps({"notebook": notebook, **e}) + "\n")


ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: The line the probe rewriter puts where a test turns hidden or visible again.
PHASE_LINE = re.compile(r"""^__probe__\.phase\((['"])(hidden|visible)\1\)[ \t]*$""", re.M)


def split_phases(code: str) -> list[tuple[str, str]]:
    """A probe's code as (phase, code) parts, cut at its top-level phase lines, visible first."""
    parts, phase, at = [], "visible", 0
    for m in PHASE_LINE.finditer(code):
        parts.append((phase, code[at:m.start()]))
        phase, at = m.group(2), m.end() + 1
    parts.append((phase, code[at:]))
    return parts


def _answer_functions(nb) -> set[str]:
    """Names of the functions and classes the notebook's answer cells define."""
    out = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            out |= {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    return out


def _processes_of(uid: int, include_dead: bool = False) -> list[tuple[int, int]]:
    """(pid, start time) of every process whose real uid is ``uid`` (zombies only when
    ``include_dead``: they still count against the user's process limit)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid != uid:   # cheap first filter: the effective uid
                continue
            with open(f"/proc/{name}/status", encoding="utf-8") as f:
                status = f.read()
            with open(f"/proc/{name}/stat", encoding="utf-8") as f:
                stat = f.read()
        except OSError:
            continue
        line = next((l for l in status.splitlines() if l.startswith("Uid:")), "")
        if not line or int(line.split()[1]) != uid:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X") and not include_dead:   # dead, waiting to be reaped
            continue
        out.append((int(name), int(fields[19])))
    return out
