"""Names in `[model] controls`, `mechanisms`, `moderators`, `[callaway_santanna] covariates`
and `[variables]` expressions, resolved to the analysis panel's columns before any data is read.

A name is, in this order: a `[variables]` entry, a variable the study builds, a role mapped in
`[inputs]` or `[components]` (its raw values, column `raw_<role>`), or a column of the user's
file by its header. A header is data, never code: one that is not a plain identifier (or
that collides with the panel's own columns) gets the internal name `col_<k>`, and only that
name reaches a formula, R or a file name; its header is kept as its label for display.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.config.expressions import (
    IDENTIFIER,
    Call,
    ExpressionError,
    Node,
    Ref,
    parse,
    references,
    unit_level,
)
from analysis.config.schema import (
    CONTROL_NAMES,
    MECHANISM_NAMES,
    MODERATOR_NAMES,
    Declared,
)
from analysis.errors import InputError

# What the study builds (analysis.prepare.variables) and the panel's own columns.
STUDY_VARIABLES = (
    *CONTROL_NAMES,
    *MECHANISM_NAMES,
    *MODERATOR_NAMES,
    "digital_economy",
    "marketization",
    "resilience",
)
RESERVED = (
    "city_code",
    "unit_id",
    "year",
    "first_treat",
    "treat_post",
    "rel_time",
    "event_time",
    "cohort",
    "marketization_pre",
    "digital_economy_pre",
)
LISTS = (
    ("model", "controls"),
    ("model", "mechanisms"),
    ("model", "moderators"),
    ("callaway_santanna", "covariates"),
)


@dataclass
class _Resolver:
    roles: set[str]
    declared: dict[str, Declared]
    src: Path
    columns: dict[str, str]  # internal -> header, in order of first use

    def header(self, header: str) -> str:
        """The internal name of the file's column `header`."""
        for internal, known in self.columns.items():
            if known == header:
                return internal
        taken = {*STUDY_VARIABLES, *RESERVED, *self.roles, *self.declared, *self.columns}
        safe = IDENTIFIER.fullmatch(header) and not header.startswith(("raw_", "col_"))
        numbered = sum(name.startswith("col_") for name in self.columns)
        internal = header if safe and header not in taken else f"col_{numbered + 1}"
        self.columns[internal] = header
        return internal

    def name(self, name: str, column: bool = False) -> str:
        if column:
            return self.header(name)
        if name in self.declared or name in STUDY_VARIABLES:
            return name
        if name in self.roles:
            return f"raw_{name}"
        return self.header(name)


def _declared(raw: dict[str, Any], roles: set[str], src: Path) -> dict[str, Declared]:
    out: dict[str, Declared] = {}
    for name, text in raw.items():
        where = f"{src}: [variables] {name}"
        if not isinstance(text, str):
            raise InputError(f'{where} = {text!r} must be an expression in quotes, e.g. "log(gdp)"')
        if not IDENTIFIER.fullmatch(name) or name.startswith(("raw_", "col_")):
            raise InputError(
                f"{where}: a variable's name must be letters, digits and underscores, starting "
                "with a letter (not raw_ or col_); the expression may quote any header"
            )
        if name in STUDY_VARIABLES or name in RESERVED or name in roles:
            raise InputError(
                f"{where}: the name is taken by the study's own variable or role '{name}'; "
                "choose another"
            )
        try:
            tree = parse(text)
        except ExpressionError as exc:
            raise InputError(f"{where} = {text!r}: {exc}") from None
        for ref in references(tree):
            if ref.column or ref.name in out or ref.name not in raw:
                continue
            if ref.name == name:
                raise InputError(f"{where} = {text!r}: position {ref.position}: refers to itself")
            raise InputError(
                f"{where} = {text!r}: position {ref.position}: '{ref.name}' is declared "
                "after it; declare a variable before the ones that use it"
            )
        out[name] = Declared(name, text, tree, unit_level(tree), ())
    return out


def _bind(node: Node, res: _Resolver) -> Node:
    """The tree with every reference replaced by the panel column it reads."""
    if isinstance(node, Ref):
        return Ref(res.name(node.name, node.column), node.position, node.quoted, True)
    if isinstance(node, Call):
        return Call(node.function, tuple(_bind(a, res) for a in node.args), node.position)
    return node


def resolve(
    raw: dict[str, Any], src: Path
) -> tuple[dict[str, Any], tuple[Declared, ...], dict[str, str]]:
    """The configuration's lists with internal names, the declared variables with their
    references bound to panel columns, and the file columns used (internal -> header)."""
    roles = {r for r, c in raw["inputs"].items() if c} | set(raw["components"])
    declared = _declared(raw.get("variables", {}), roles, src)
    res = _Resolver(roles, declared, src, {})
    bound = {}
    for name, d in declared.items():
        tree = _bind(d.tree, res)
        reads = tuple(dict.fromkeys(r.name for r in references(tree)))
        bound[name] = Declared(name, d.expression, tree, d.unit_level, reads)
    lists: dict[str, Any] = {}
    for table, key in LISTS:
        names = raw[table][key]
        if any(not isinstance(n, str) for n in names):
            raise InputError(f"{src}: [{table}] {key} = {names!r} must list names (text)")
        if len(set(names)) != len(names) or any(not str(n).strip() for n in names):
            raise InputError(
                f"{src}: [{table}] {key} = {names!r} must list names without repeats or blanks"
            )
        lists[f"{table}.{key}"] = tuple(res.name(str(n)) for n in names)
    return lists, tuple(bound.values()), res.columns


def named_in(cfg: Any, internal: str) -> str:
    """Where the configuration names a panel column (for messages): '[model] controls', ..."""
    lists = {
        "[model] controls": cfg.model.controls,
        "[model] mechanisms": cfg.model.mechanisms,
        "[model] moderators": cfg.model.moderators,
        "[callaway_santanna] covariates": cfg.callaway_santanna.covariates,
    }
    lists.update({f"[variables] {d.name}": d.reads for d in cfg.variables})
    return next((where for where, names in lists.items() if internal in names), "the configuration")
