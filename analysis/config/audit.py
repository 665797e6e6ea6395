"""The [audit] table of the configuration, checked beyond types: the thresholds of the data
audit in range, and ranges as role = [low, high] for the roles the configuration maps."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from analysis.config.schema import AuditConfig
from analysis.errors import InputError, suggest

log = logging.getLogger("analysis.config")


# [audit] thresholds: key -> (test, what the value must be).
AUDIT_LIMITS: dict[str, tuple[Any, str]] = {
    "jump_ratio": (lambda v: v > 1, "greater than 1"),
    "jump_z": (lambda v: v > 0, "positive"),
    "scale_tolerance": (lambda v: 0 < v < 0.5, "in (0, 0.5)"),
    "cross_orders": (lambda v: v > 0, "positive"),
    "repeat_alpha": (lambda v: 0 < v < 1, "in (0, 1)"),
    "repeat_share_max": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "sum_tolerance": (lambda v: 0 < v < 1, "in (0, 1)"),
}


def audit_table(
    raw: dict[str, Any], path: Path, given: set[str], defaults: dict[str, Any]
) -> AuditConfig:
    """The [audit] table, checked beyond types: thresholds in range, ranges as
    role = [low, high] for roles the configuration knows. A range of a role of the study that
    the user's [inputs] or [components] do not map is dropped (logged when the user gave it:
    a copy of data/study.toml keeps every range); one of a role nobody knows is an error."""
    a = raw["audit"]
    for key, (ok, must) in AUDIT_LIMITS.items():
        if not ok(a[key]):
            raise InputError(f"{path}: [audit] {key} = {a[key]!r} must be {must}")
    roles = [*raw["inputs"], *raw["components"], "resilience"]
    ranges = []
    study_roles = {*defaults["inputs"], *defaults["components"], "resilience"}
    for role, bounds in a["ranges"].items():
        if role not in roles and (role not in given or role in study_roles):
            if role in given:
                log.info("%s: [audit] ranges: %s not checked (not mapped in [inputs])", path, role)
            continue
        if role not in roles:
            raise InputError(
                f"{path}: [audit] ranges: unknown role '{role}'{suggest(role, roles)}; "
                "allowed: the roles of [inputs] and [components], or 'resilience'"
            )
        numbers = isinstance(bounds, list) and all(
            isinstance(b, int | float) and not isinstance(b, bool) for b in bounds
        )
        if not numbers or len(bounds) != 2 or not bounds[0] < bounds[1]:
            raise InputError(
                f"{path}: [audit] ranges: {role} = {bounds!r} must be [low, high] with low < high"
            )
        ranges.append((str(role), float(bounds[0]), float(bounds[1])))
    return AuditConfig(
        **{k: float(a[k]) for k in AUDIT_LIMITS},
        ranges=tuple(ranges),
    )
