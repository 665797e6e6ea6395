"""Progress bars for the stages that take more than a moment (placebo permutations, DML
repetitions, bootstrap). Shown only on a terminal, never with --quiet; nothing reaches
files or pipes, so logs and captured output stay clean."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
_quiet = False


def set_quiet(quiet: bool) -> None:
    """Called once by the command line (--quiet)."""
    global _quiet
    _quiet = quiet


def enabled() -> bool:
    return not _quiet and sys.stderr.isatty()


def progress(items: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
    """`items`, with a bar on stderr when it is a terminal."""
    if not enabled():
        yield from items
        return
    yield from tqdm(items, desc=desc, total=total, leave=False, file=sys.stderr, dynamic_ncols=True)
