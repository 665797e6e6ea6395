"""The study's variable lists a Chinese city panel can build (analysis/initconfig/guess.py).

The study's controls, mechanisms, moderators and Callaway-Sant'Anna covariates
(data/study.toml) are built from [inputs] roles (analysis.prepare.variables.INPUTS). When an
input is not in the file, init-config writes the buildable part of each list explicitly,
with what was left out and why, rather than leaving a default the data cannot serve.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from analysis.config import DEFAULT_CONFIG
from analysis.prepare.variables import INPUTS, MODERATOR_INPUTS

# The lists, as (table, key) of data/study.toml.
LISTS = (
    ("model", "controls"),
    ("model", "mechanisms"),
    ("model", "moderators"),
    ("callaway_santanna", "covariates"),
)


@lru_cache(maxsize=1)
def study_defaults() -> dict[str, Any]:
    """The study's configuration, data/study.toml (read once)."""
    with DEFAULT_CONFIG.open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class VariableList:
    """One of the study's lists: the paper's, what the file can build, what it cannot and why."""

    table: str
    key: str
    study: tuple[str, ...]
    kept: tuple[str, ...]
    left: tuple[tuple[str, str], ...]

    @property
    def complete(self) -> bool:
        return not self.left


def needs(variable: str) -> tuple[str, ...]:
    """The [inputs] roles a variable is built from (a moderator: those of its variable; the
    eastern-region moderator needs the city registry only)."""
    base = MODERATOR_INPUTS.get(variable, variable)
    return INPUTS.get(base, ())


def study_lists(inputs: set[str]) -> tuple[VariableList, ...]:
    """Each list of LISTS split by whether `inputs` (the mapped [inputs] roles) build it."""
    study = study_defaults()
    out = []
    for table, key in LISTS:
        names = tuple(study[table][key])
        kept, left = [], []
        for name in names:
            missing = [i for i in needs(name) if i not in inputs]
            if missing:
                left.append((name, f"needs input {', '.join(missing)}, not found"))
            else:
                kept.append(name)
        out.append(VariableList(table, key, names, tuple(kept), tuple(left)))
    return tuple(out)
