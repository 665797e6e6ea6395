"""Set keys in a TOML file written by init-config, as a user edits it: a key is set in place
inside its table (the table is appended when the file has none), every comment kept."""

from __future__ import annotations

import json
from pathlib import Path

Value = str | int | float | bool | list[str] | list[int]


def _toml(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | list):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def set_keys(path: Path, tables: dict[str, dict[str, Value]]) -> None:
    """Set `tables` ({table: {key: value}}) in the TOML file at `path`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    for table, values in tables.items():
        header = f"[{table}]"
        if header not in lines:
            lines += ["", header]
        start = lines.index(header) + 1
        end = next((i for i in range(start, len(lines)) if lines[i].startswith("[")), len(lines))
        body = [ln for ln in lines[start:end] if ln.split("=")[0].strip() not in values]
        body = [f"{k} = {_toml(v)}" for k, v in values.items()] + body
        lines[start:end] = body
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
