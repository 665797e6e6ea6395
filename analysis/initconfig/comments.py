"""How init-config writes values and comments into the TOML it proposes: strings escaped so
invisible characters show, column names plain when they can be, comments wrapped."""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata

WIDTH = 100


def toml_string(text: str) -> str:
    """A TOML basic string; invisible and non-ASCII space characters (zero-width spaces,
    U+3000) are written as \\uXXXX escapes, so the file shows them."""
    quoted = json.dumps(text, ensure_ascii=False)
    return "".join(
        f"\\u{ord(c):04x}"
        if c != " " and unicodedata.category(c) in ("Cf", "Zs", "Zl", "Zp", "Cc")
        else c
        for c in quoted
    )


_PLAIN = re.compile(r"^[\w.\-]+$")


def name(column: str) -> str:
    """A column name in a comment: as it is when plain (letters, digits, _ . -), else quoted."""
    return column if _PLAIN.match(column) else toml_string(column)


def comment(text: str) -> str:
    """The text on one line."""
    return " ".join(text.split())


def wrap(text: str, indent: str = "") -> list[str]:
    """Comment lines of at most WIDTH characters (a long name is never broken)."""
    return [
        f"# {row}"
        for row in textwrap.wrap(
            comment(text),
            WIDTH - 2,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
    ]


def line(key: str, value: str, note: str) -> str:
    """`key = value`, the note as a comment after it."""
    text = f"{key} = {value}"
    return f"{text}  # {comment(note)}" if note else text


def toml_list(values: tuple[str, ...]) -> str:
    """A TOML array of strings."""
    return "[" + ", ".join(toml_string(v) for v in values) + "]"
