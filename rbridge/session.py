"""One embedded R session through rpy2: detection, library paths, console capture, errors.

- `detect()` says whether R can run here and which packages it has, with versions; it never
  raises (R is first started in a child process, since a broken R ends the process that
  embeds it). R counts as absent when rpy2 is missing, when R cannot be started, or when the
  environment variable RBRIDGE_DISABLE is set to a non-empty value other than 0 (the skip
  path, for tests and for users who want the Python results alone).
- Extra R library folders come from RBRIDGE_R_LIBS (folders separated by os.pathsep),
  put in front of R's own `.libPaths()`; R's standard R_LIBS and R_LIBS_USER work as usual.
- Everything R prints goes to the logger `rbridge.R` (the run's run.log), never the terminal.
- An R error becomes an `RError` naming the R function and carrying R's message.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError

R_DIR = Path(__file__).resolve().parent / "R"
# The R code of the bridge, sourced in this order into one environment (and copied in this
# order into replicate.R by `python -m analysis export-r`).
R_FILES = tuple(R_DIR / name for name in ("bridge.R", "did.R", "inference.R"))
PACKAGES = (
    "fixest",
    "did",
    "sandwich",
    "did2s",
    "didimputation",
    "bacondecomp",
    "HonestDiD",
    "DoubleML",
    "mlr3",
    "mlr3learners",
    "data.table",
    "DRDID",
)
DISABLE_ENV = "RBRIDGE_DISABLE"
LIBS_ENV = "RBRIDGE_R_LIBS"
PROBE_SECONDS = 120

chatter = logging.getLogger("rbridge.R")
chatter.propagate = False  # R's console output belongs in run.log only
chatter.setLevel(logging.INFO)
# rpy2's own start-up notes (R home, library path, "Embedded R ended") likewise.
rpy2_log = logging.getLogger("rpy2")
rpy2_log.propagate = False
log = logging.getLogger("rbridge")


class RError(AnalysisError):
    """R failed: the message names the R function and gives R's own error text."""


@dataclass(frozen=True)
class RInfo:
    """What R offers on this machine (available False: `reason` says why)."""

    available: bool
    reason: str = ""
    r_version: str | None = None
    rpy2_version: str | None = None
    packages: dict[str, str | None] = field(default_factory=dict)
    lib_paths: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "reason": self.reason,
            "R": self.r_version,
            "rpy2": self.rpy2_version,
            "packages": dict(self.packages),
            "lib_paths": list(self.lib_paths),
            "lib_paths_from": f"{LIBS_ENV} (then R_LIBS, R_LIBS_USER, R's defaults)",
        }


def disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "") not in ("", "0")


def _rpy2_version() -> str | None:
    try:
        return metadata.version("rpy2")
    except metadata.PackageNotFoundError:
        return None


def _route_console() -> None:
    """Send R's console output and messages to the `rbridge.R` logger."""
    from rpy2.rinterface_lib import callbacks

    def write(text: str) -> None:
        if text.strip():
            chatter.info("R: %s", text.rstrip())

    callbacks.consolewrite_print = write
    callbacks.consolewrite_warnerror = write
    callbacks.showmessage = write


@cache
def _start() -> Any:
    """Start embedded R once per process, set the library paths, source bridge.R.
    Returns R's environment holding the bridge functions."""
    _route_console()
    before = os.environ.get("LD_LIBRARY_PATH")
    import rpy2.robjects as ro

    # rpy2 puts R's library folders (and the system's) first in this process's
    # LD_LIBRARY_PATH; a child process (a Dask worker, a tool the user starts after the
    # cross-check) would then load the system's libpython instead of its own. The running
    # process is not affected by a later change (the dynamic linker reads the variable at
    # start), so the variable is restored at once.
    if before is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = before
    extra = [p for p in os.environ.get(LIBS_ENV, "").split(os.pathsep) if p]
    for p in extra:
        if not Path(p).is_dir():
            log.warning("%s: %s is not a folder; ignored", LIBS_ENV, p)
    extra = [str(Path(p).resolve()) for p in extra if Path(p).is_dir()]
    if extra:
        current = list(ro.r[".libPaths"]())
        ro.r[".libPaths"](ro.StrVector(extra + [p for p in current if p not in extra]))
    env = ro.r["new.env"]()
    for path in R_FILES:
        ro.r["sys.source"](str(path), envir=env)
    return env


@cache
def _probe() -> str:
    """Start R through rpy2 in a child process first: a broken R installation ends the
    process that embeds it (R calls exit), which must not be this one. '' when R starts."""
    code = "import rpy2.robjects as ro; ro.r('invisible(1)')"
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=PROBE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"R did not start within {PROBE_SECONDS} s"
    if proc.returncode == 0:
        return ""
    lines = [ln.strip() for ln in (proc.stdout + "\n" + proc.stderr).splitlines() if ln.strip()]
    return "; ".join(lines[-2:]) if lines else f"exit status {proc.returncode}"


def detect() -> RInfo:
    """Whether R runs here, its version and the bridge's packages (None: not installed)."""
    if disabled():
        return RInfo(False, f"R disabled by the environment variable {DISABLE_ENV}")
    rpy2_version = _rpy2_version()
    if rpy2_version is None:
        return RInfo(False, "rpy2 is not installed (pip install rpy2==3.5.17)")
    problem = _probe()
    if problem:
        return RInfo(
            False, f"R could not be started through rpy2: {problem}", rpy2_version=rpy2_version
        )
    try:
        env = _start()
    except Exception as exc:  # rpy2 raises several types when R is missing or broken
        line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return RInfo(
            False, f"R could not be started through rpy2: {line}", rpy2_version=rpy2_version
        )
    info = _to_py(env["rb_versions"](_to_r(list(PACKAGES))))
    packages = {p: first(v) for p, v in info["packages"].items()}
    return RInfo(
        True,
        r_version=first(info["R"]),
        rpy2_version=rpy2_version,
        packages=packages,
        lib_paths=tuple(info["lib_paths"]),
    )


# --- conversion ----------------------------------------------------------------------------


def _to_r(value: Any) -> Any:
    """A Python value as an R object: None -> NULL; str, int, float, bool and lists of one
    of them -> vectors; a list of tuples of str -> an R list of character vectors; a dict ->
    a named R list; a numpy array -> a numeric vector (1-d) or matrix (2-d)."""
    import rpy2.robjects as ro

    if value is None:
        return ro.NULL
    if isinstance(value, dict):
        converted = {k: _to_r(v) for k, v in value.items()}
        out = ro.vectors.ListVector.from_length(len(converted))
        for i, v in enumerate(converted.values()):
            out[i] = v
        out.names = ro.StrVector(list(converted))
        return out
    if isinstance(value, np.ndarray):
        flat = ro.FloatVector(np.asarray(value, dtype=float).ravel(order="F").tolist())
        if value.ndim == 2:
            return ro.r["matrix"](flat, nrow=value.shape[0], ncol=value.shape[1])
        return flat
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if items and all(isinstance(v, tuple) for v in items):
        return ro.r["list"](*[ro.StrVector(list(v)) for v in items])
    if all(isinstance(v, str) for v in items):
        return ro.StrVector(items)
    if all(isinstance(v, bool) for v in items):
        return ro.BoolVector(items)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        return ro.IntVector(items)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in items):
        return ro.FloatVector([float(v) for v in items])
    raise TypeError(f"no R conversion for {value!r}")


def _to_py(obj: Any) -> Any:
    """An R result as Python: named lists -> dict, unnamed lists -> list, character
    vectors -> list of str (NA -> None), numeric and logical vectors -> 1-d float arrays,
    matrices -> 2-d float arrays, NULL -> None. Lengths are kept (no scalars)."""
    import rpy2.rinterface as ri
    import rpy2.robjects as ro

    if obj is None or obj is ri.NULL or isinstance(obj, type(ri.NULL)):
        return None
    if isinstance(obj, ro.vectors.ListVector):
        items = [_to_py(v) for v in obj]
        names = obj.names
        if names is ri.NULL or names is None or isinstance(names, type(ri.NULL)):
            return items
        return dict(zip([str(n) for n in names], items, strict=True))
    if isinstance(obj, ro.vectors.StrVector):
        return [None if v is ri.NA_Character else str(v) for v in obj]
    if isinstance(obj, (ro.vectors.FloatVector, ro.vectors.IntVector, ro.vectors.BoolVector)):
        arr = np.array(list(obj), dtype=float)
        dim = obj.dim if hasattr(obj, "dim") and obj.dim is not ri.NULL else None
        if dim is not None and not isinstance(dim, type(ri.NULL)) and len(dim) == 2:
            return arr.reshape((int(dim[0]), int(dim[1])), order="F")
        return arr
    raise TypeError(f"no Python conversion for R object of type {type(obj).__name__}")


def first(value: Any) -> Any:
    """The single element of a length-1 R result."""
    return value[0] if isinstance(value, (list, np.ndarray)) else value


class RSession:
    """The embedded R session of one cross-check: the panel converted once, and calls."""

    def __init__(self, panel: pd.DataFrame) -> None:
        self._env = _start()
        self._panel = self._convert(panel)

    @staticmethod
    def _convert(panel: pd.DataFrame) -> Any:
        import rpy2.robjects as ro
        from rpy2.robjects import pandas2ri
        from rpy2.robjects.conversion import localconverter

        numeric = panel.select_dtypes(include="number")
        with localconverter(ro.default_converter + pandas2ri.converter):
            return ro.conversion.py2rpy(numeric.reset_index(drop=True))

    def call(self, function: str, what: str, **kwargs: Any) -> dict[str, Any]:
        """Call a bridge function with the panel as `data` (first argument) and kwargs;
        R's messages and warnings go to the log; an R error raises RError."""
        import rpy2.robjects as ro

        args = ro.vectors.ListVector.from_length(len(kwargs) + 1)
        names = ["data", *kwargs]
        args[0] = self._panel
        for i, value in enumerate(kwargs.values(), start=1):
            args[i] = _to_r(value)
        args.names = ro.StrVector(names)
        result = _to_py(self._env["rb_call"](self._env[function], args))
        for note in result.get("notes") or []:
            chatter.info("R (%s): %s", what, note)
        if not first(result["ok"]):
            raise RError(f"R error in {what}: {first(result['error'])}")
        return dict(result["value"])
