"""Options reach an engine only under names the engine declares.

A keyword an engine does not know is either refused by Python (a TypeError deep in the
library) or, worse, swallowed by a `**kwargs` or a dataclass field the estimator never reads,
so the setting is silently ignored. Every call of an engine in analysis.engines goes through
`call`, which compares the keywords with the callee's own signature first and fails loudly,
naming the option and the names the engine accepts."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class EngineOptionError(RuntimeError):
    """An option name the engine does not declare (a defect of the calling code)."""


def declared(target: Callable[..., Any]) -> tuple[str, ...]:
    """The keyword names a function or class declares (a class: its constructor's)."""
    params = inspect.signature(target).parameters
    return tuple(name for name, p in params.items() if p.kind in _NAMED)


def check(target: Callable[..., Any], options: dict[str, Any]) -> None:
    """Raise EngineOptionError if `options` holds a name `target` does not declare."""
    names = declared(target)
    unknown = [k for k in options if k not in names]
    if unknown:
        where = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', target)}"
        raise EngineOptionError(
            f"{where} has no option {', '.join(repr(k) for k in unknown)}; "
            f"it declares: {', '.join(names)}"
        )


def call(target: Callable[..., T], /, *args: Any, **options: Any) -> T:
    """`target(*args, **options)` after checking every option name against its signature."""
    check(target, options)
    return target(*args, **options)
