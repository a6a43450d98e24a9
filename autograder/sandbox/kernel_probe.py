"""Inside the grading kernel: what a test cell's probe reports to the grader.

A test cell runs as a *probe* (see ``autograder/course/probes.py``): every check and
assertion of the instructor's test becomes a call of this module, which describes what
the check was given as plain data (``encoder_lib.checks.plain``: numbers, strings,
arrays as bytes; never a live object) and sends it to the grader as a display message
of its own MIME type, which the grader takes out of the cell's outputs. Nothing here
decides anything: the grader pairs these reports with the reference run's and judges
them in its own process.

Student code shares this process, so it can stop, forge or add reports; it cannot make
a report match an expected value it was never given. The grader counts a report that
does not carry the cell's token, or a test that did not report every check the
reference run did, against the test.

Loaded by ``kernel_boot.py`` before any student code runs, as the module
``__autograder_probe__``. Standalone on purpose: the course repository is not visible
inside the sandbox (``encoder_lib`` is).
"""
import sys

MIME = "application/vnd.autograder.probe+json"
_MISSING = object()


def _plain():
    from encoder_lib.checks import plain
    return plain


def _encode(value):
    plain = _plain()
    try:
        return plain.to_json(plain.describe(value))
    except Exception as err:                       # noqa: BLE001 - a value that cannot be read
        return {"object": [f"unreadable ({type(err).__name__})"]}


def _error(err):
    return {"error": _encode(err)}


def _input_fingerprint(value, depth=0):
    """A fingerprint of one input of a check, robust to last-bit differences (tensors by
    their sum and absolute sum; modules by how often their parameters changed in place)."""
    import torch

    if isinstance(value, torch.nn.Module):
        return ["module", [int(p._version) for p in value.parameters()]]
    if isinstance(value, torch.Tensor):
        if type(value) not in (torch.Tensor, torch.nn.Parameter):
            return ["subclass"]
        with torch.no_grad():
            t = torch.Tensor.detach(value).cpu().double()
            if t.is_complex():
                t = t.abs()
            t = torch.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0)
            return ["tensor", str(value.dtype), list(value.shape), float(t.sum()), float(t.abs().sum())]
    if depth < 4 and type(value) in (list, tuple):
        return ["seq", [_input_fingerprint(v, depth + 1) for v in value[:64]]]
    if depth < 4 and type(value) is dict:
        return ["dict", [[repr(k)[:80], _input_fingerprint(v, depth + 1)] for k, v in list(value.items())[:64]]]
    if isinstance(value, (type(sys), type)) or callable(value):
        return None
    plain = _plain()
    return ["plain", plain.fingerprint(plain.describe(value))]


class Probe:
    """The ``__probe__`` of a test cell; :meth:`begin` starts one cell."""

    def __init__(self):
        from IPython.core.display_functions import publish_display_data
        self._publish = publish_display_data
        self.token = ""

    def begin(self, token):
        quiet()                  # a tracer set up by an earlier cell does not watch this test's reports
        self.token = str(token)
        return self

    def _send(self, record):
        record["token"] = self.token
        self._publish({MIME: record}, metadata={})

    def phase(self, name):
        self._send({"phase": str(name)})

    def _inputs(self, inputs):
        if inputs is None:
            return None
        out = {}
        try:
            thunks = inputs()
        except Exception:                          # noqa: BLE001
            return None
        for name, thunk in thunks.items():
            try:
                fp = _input_fingerprint(thunk())
            except Exception:                      # noqa: BLE001 - a name that is not there
                fp = ["missing"]
            if fp is not None:
                out[name] = fp
        return out

    def _params(self, params):
        return None if params is None else {str(k): _encode(v) for k, v in params.items()}

    def check(self, site, got, expected=_MISSING, inputs=None, params=None):
        record = {"site": site, "got": _encode(got)}
        if expected is not _MISSING:
            record["expected"] = _encode(expected)
        fp = self._inputs(inputs)
        if fp is not None:
            record["inputs"] = fp
        if params is not None:
            record["params"] = self._params(params)
        self._send(record)

    def raises(self, site, fn, args=(), kwargs=None, params=None):
        outcome = None
        try:
            fn(*args, **(kwargs or {}))
        except Exception as err:                   # noqa: BLE001 - the outcome is what is checked
            outcome = err
        record = {"site": site, "got": _encode(outcome)}
        if params is not None:
            record["params"] = self._params(params)
        self._send(record)
        return outcome

    def _value(self, thunk):
        try:
            return {"value": _encode(thunk())}
        except Exception as err:                   # noqa: BLE001 - an error is an outcome too
            return _error(err)

    def _message(self, record, message):
        if message is None:
            return
        try:
            record["message"] = str(message())[:4000]
        except Exception:                          # noqa: BLE001
            pass

    def compare(self, site, left, right=None, inputs=None, message=None, tolerance=None):
        record = {"site": site, "left": self._value(left)}
        if right is not None:
            record["right"] = self._value(right)
        if tolerance is not None:
            record["tolerance"] = self._value(tolerance)
        fp = self._inputs(inputs)
        if fp is not None:
            record["inputs"] = fp
        self._message(record, message)
        self._send(record)

    def truth(self, site, test, message=None):
        try:
            value = {"value": bool(test())}
        except Exception as err:                   # noqa: BLE001
            value = _error(err)
        record = {"site": site, "left": value}
        if value.get("value") is not True:
            self._message(record, message)
        self._send(record)


def quiet():
    """No tracer, profiler or interval timer that student code left behind watches what the
    kernel runs next (a tracer sees the source of every request it is sent, the hidden part of a
    test included). Run at the end of each part of a test, before the next part is sent."""
    import signal
    import threading

    sys.settrace(None)
    sys.setprofile(None)
    threading.settrace(None)
    threading.setprofile(None)
    for which in ("ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF"):
        try:
            signal.setitimer(getattr(signal, which), 0)
        except (AttributeError, ValueError, OSError):  # not on this platform, or not the main thread
            pass


def install():
    """Make ``__autograder_probe__`` importable (a module holding one :class:`Probe`)."""
    import types

    try:
        _plain().capture()        # torch's tensor functions, before any student code runs
    except Exception:             # noqa: BLE001 - without torch there is nothing to capture
        pass
    module = types.ModuleType("__autograder_probe__")
    probe = Probe()
    module.begin = probe.begin
    module.quiet = quiet
    module.MIME = MIME
    sys.modules["__autograder_probe__"] = module
    return module
