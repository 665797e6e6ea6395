"""Errors the command line turns into exit codes and one-line messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# Exit status of a run that wrote what succeeded while a part of it failed.
PARTIAL = 4


class AnalysisError(Exception):
    """Base class: a failure the user should read as one line, without a traceback."""

    exit_code = 1


class InputError(AnalysisError):
    """Bad input data or configuration (exit status 2)."""

    exit_code = 2


class CrosscheckFailure(AnalysisError):
    """A cross-check outside its tolerance (exit status 3)."""

    exit_code = 3


def suggest(value: str, allowed: Iterable[str]) -> str:
    """A ' (did you mean ...?)' hint naming the closest allowed value, or ''."""
    allowed = [str(a) for a in allowed]
    close = difflib.get_close_matches(str(value), allowed, n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def choices(allowed: Iterable[str]) -> str:
    """The allowed values, quoted and comma-separated, for an error message."""
    return ", ".join(f"'{a}'" for a in allowed)


def describe(exc: BaseException) -> str:
    """One line for an unexpected exception: its type and the first line of its message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
