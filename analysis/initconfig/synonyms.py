"""The yearbook synonyms table (``data/synonyms.toml``) and the normalization of headers.

A header such as ``年末金融机构各项贷款余额（万元）`` or ``gdp_100m_yuan`` is split into a
matching key (``年末金融机构各项贷款余额``, ``gdp``) and the unit it states (万元, 亿元).
The table's names go through the same steps, so a header matches a role when the two keys
are equal: no fuzzy matching, which would take 存款余额 (deposits) for 贷款余额 (loans).

Steps of ``parse_header``:

1. Unicode NFKC (full-width letters, digits and brackets become half-width); zero-width
   characters are removed.
2. Bracketed parts, in ``()``, ``[]``, ``{}``, ``【】``, ``〔〕``, ``《》`` or ``「」``, are
   removed; a unit or a scope (全市, 市辖区) inside them is kept aside. So is ``单位：...``.
3. Trailing parts after a separator (``_ - / : ,`` or a space) that spell a unit or a scope
   are removed (``gdp_100m_yuan``, ``地区生产总值_全市``; a single English word only if it
   names a currency or percent: ``broadband_subscribers`` keeps its last word), and so is a
   Chinese unit of two or more characters written right after the name (``常住人口万人``),
   or ``%``.
4. Case is folded and everything but letters and digits is removed (``R&D`` -> ``rd``,
   ``urban population`` -> ``urbanpopulation``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache

from analysis.config.schema import DATA_DIR
from analysis.prepare.keys import visible

SYNONYMS_FILE = DATA_DIR / "synonyms.toml"

# Tables of the synonyms file that hold roles, in the order a configuration lists them.
ROLE_TABLES = ("columns", "outcome", "components", "inputs", "treatment", "unused")
# The city key's lists: codes, names, and ids of units of any kind.
KEY_KINDS = ("code", "name", "any")
SCOPES = ("全市", "市辖区")

_BRACKETED = re.compile(r"[(\[{【〔《「]([^()\[\]{}【】〔〕《》「」]*)[)\]}】〕》」]")
_UNIT_LABEL = re.compile(r"单位[:：]?\s*([^\s,;，；]+)")
_SEPARATORS = re.compile(r"[_\-/:：,，;；\s]+")
# English words accepted as a unit when they end a name after a separator (gdp_yuan).
_WORDS = frozenset({"yuan", "rmb", "cny", "usd", "pct", "percent"})


@dataclass(frozen=True)
class Unit:
    """A unit of measurement: ``factor`` times the base unit of its ``kind``."""

    name: str
    kind: str
    factor: float


@dataclass(frozen=True)
class Role:
    """One entry of the synonyms table: a role of the configuration (or a known column the
    study does not use, table ``unused``), its names in order of preference."""

    table: str
    role: str
    label: str
    names: tuple[str, ...]
    unit: str = ""
    key_kind: str = ""
    """For the city key (``columns.city``): ``code``, ``name`` or ``any``."""

    @property
    def ident(self) -> str:
        suffix = f":{self.key_kind}" if self.key_kind else ""
        return f"{self.table}.{self.role}{suffix}"


@dataclass(frozen=True)
class Header:
    """A column header, split into its matching key, the unit it states and its scope."""

    text: str
    key: str
    unit_text: str = ""
    unit: Unit | None = None
    scope: str = ""


@dataclass(frozen=True)
class Match:
    role: Role
    priority: int
    """Position of the matching name in the role's list (0 = most preferred)."""


def _clean(text: str) -> str:
    return visible(text).strip()


def _unit_key(text: str) -> str:
    return " ".join(_clean(text).casefold().split())


def _letters(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


class Synonyms:
    """The synonyms table, indexed by normalized name."""

    def __init__(self, roles: tuple[Role, ...], units: tuple[Unit, ...], aliases: dict[str, Unit]):
        self.roles = roles
        self.units = units
        self._unit_aliases = aliases
        # Units written right after a name are stripped longest first (万美元 before 美元);
        # only Chinese spellings of two or more characters and % (an English word at the end
        # of a name is part of it: "urban people").
        self._attached = sorted(
            (a for a in aliases if not re.search("[a-z]", a) and (len(a) >= 2 or a in "%‰")),
            key=len,
            reverse=True,
        )
        self._index: dict[str, Match] = {}
        for role in roles:
            for priority, name in enumerate(role.names):
                key = self.parse_header(name).key
                if not key:
                    raise ValueError(f"{SYNONYMS_FILE}: {role.ident}: name {name!r} is empty")
                seen = self._index.get(key)
                if seen is not None and seen.role != role:
                    raise ValueError(
                        f"{SYNONYMS_FILE}: {name!r} names both {seen.role.ident} and {role.ident}"
                    )
                self._index.setdefault(key, Match(role, priority))

    def unit(self, text: str) -> Unit | None:
        """The unit a text spells (``万元``, ``100 million yuan``, ``%``), or None."""
        key = _unit_key(text)
        return self._unit_aliases.get(key) or self._unit_aliases.get(key.replace(" ", ""))

    def role(self, ident: str) -> Role:
        for role in self.roles:
            if role.ident == ident:
                return role
        raise KeyError(ident)

    def roles_of(self, table: str) -> tuple[Role, ...]:
        return tuple(r for r in self.roles if r.table == table)

    def match(self, header: Header | str) -> Match | None:
        """The role whose names include the header (after normalization), or None."""
        key = header.key if isinstance(header, Header) else self.parse_header(header).key
        return self._index.get(key)

    def parse_header(self, text: str) -> Header:
        """Split a header into its matching key, stated unit and scope (module docstring)."""
        body = _clean(str(text))
        found: list[str] = []
        scope = ""

        def keep(part: str, trailing: bool = False) -> bool:
            nonlocal scope
            part = part.strip()
            if part in SCOPES:
                scope = scope or part
                return True
            # An English word ending a name is part of it (broadband_subscribers), unless
            # it names a currency or percent.
            if trailing and re.fullmatch("[A-Za-z]+", part) and part.casefold() not in _WORDS:
                return False
            if self.unit(part) is not None:
                found.append(part)
                return True
            return False

        def bracket(m: re.Match[str]) -> str:
            inner = m.group(1)
            if not keep(inner):
                for piece in re.split(r"[,;，；、]", inner):
                    keep(piece)
            return " "

        body = _BRACKETED.sub(bracket, body)
        body = _UNIT_LABEL.sub(lambda m: " " if keep(m.group(1)) else m.group(0), body)
        parts = [p for p in _SEPARATORS.split(body) if p]
        while len(parts) > 1:
            for size in (3, 2, 1):
                if len(parts) > size and keep(" ".join(parts[-size:]), trailing=True):
                    del parts[-size:]
                    break
            else:
                break
        body = " ".join(parts)
        for attached in self._attached:
            if body.endswith(attached) and len(_letters(body[: -len(attached)])) >= 2:
                found.append(attached)
                body = body[: -len(attached)]
                break
        for word in SCOPES:
            if body.endswith(word) and len(body) > len(word) + 1:
                scope, body = scope or word, body[: -len(word)]
            elif body.startswith(word) and len(body) > len(word) + 1:
                scope, body = scope or word, body[len(word) :]
        unit_text = found[0].strip() if found else ""
        return Header(
            text=str(text),
            key=_letters(body),
            unit_text=unit_text,
            unit=self.unit(unit_text) if unit_text else None,
            scope=scope,
        )


def _roles(raw: dict[str, object]) -> tuple[Role, ...]:
    out: list[Role] = []
    for table in ROLE_TABLES:
        entries = raw.get(table, {})
        assert isinstance(entries, dict)
        for role, spec in entries.items():
            label, unit = str(spec["label"]), str(spec.get("unit", ""))
            if table == "columns" and role == "city":
                out.extend(
                    Role(table, role, f"{label} ({kind})", tuple(spec[kind]), unit, kind)
                    for kind in KEY_KINDS
                )
            else:
                out.append(Role(table, role, label, tuple(spec["names"]), unit))
    return tuple(out)


@lru_cache(maxsize=1)
def synonyms() -> Synonyms:
    """The table of ``data/synonyms.toml`` (read once)."""
    with SYNONYMS_FILE.open("rb") as fh:
        raw = tomllib.load(fh)
    units: list[Unit] = []
    aliases: dict[str, Unit] = {}
    for name, spec in raw["units"].items():
        unit = Unit(name, str(spec["kind"]), float(spec["factor"]))
        units.append(unit)
        for alias in (name, *spec.get("aliases", ())):
            key = _unit_key(alias)
            for k in (key, key.replace(" ", "")):
                if aliases.setdefault(k, unit) != unit:
                    raise ValueError(f"{SYNONYMS_FILE}: unit alias {alias!r} names two units")
    return Synonyms(_roles(raw), tuple(units), aliases)


def scale_note(header: Header, expected: str, table: Synonyms) -> str:
    """What the header's unit means for a role whose formulas assume ``expected``."""
    if not expected:
        return f"unit {header.unit_text}" if header.unit_text else ""
    want = table.unit(expected)
    if header.unit is None:
        found = f"unit '{header.unit_text}'" if header.unit_text else "no unit in the header"
        return f"{found}; the study assumes {expected}"
    if want is None or header.unit == want:
        return f"unit {header.unit.name}, as the study assumes"
    if header.unit.kind != want.kind:
        return (
            f"unit {header.unit.name} ({header.unit.kind}); the study assumes {expected} "
            f"({want.kind}): convert before use"
        )
    factor = header.unit.factor / want.factor
    return f"unit {header.unit.name}; the study assumes {expected}: multiply by {factor:g}"
