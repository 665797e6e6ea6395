"""`python -m analysis init-config DATA --out FILE.toml`: a starting configuration for a
user's panel, its mappings guessed from the header and a sample of rows.

Reads the file as the loader does (``analysis.prepare.loading.read_table``), proposes the
mapping (``analysis.initconfig.guess.propose``), writes it as TOML with the reasons as comments
(``analysis.initconfig.text``) atomically, checks that it loads with
``analysis.config.load_config`` (once the lines left to the user are set) and prints a short
summary (``analysis.initconfig.summary``): the panel, the mappings, the treatment found and
what still needs the user.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from analysis.config import load_config
from analysis.errors import InputError
from analysis.initconfig.guess import Proposal, propose
from analysis.initconfig.summary import summary
from analysis.initconfig.text import line_number, render, todo
from analysis.prepare.loading import read_table


def _write_atomically(text: str, out: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(data: Path, out: Path, force: bool = False) -> int:
    """Propose, write FILE.toml, check that it loads, and print the summary."""
    if out.suffix.lower() != ".toml":
        raise InputError(f"--out {out}: the configuration is written as .toml")
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: folder {out.parent} does not exist")
    if out.exists() and not force:
        raise InputError(f"--out {out}: the file exists; pass --force to replace it")
    proposal = propose(read_table(data), str(data))
    text = render(proposal, out)
    _write_atomically(text, out)
    loads = _loads(out)
    if loads and todo(proposal):
        loads = _loads_when_set(text, proposal, out)
    print(summary(proposal, out, loads), end="")
    return 0


def _loads(path: Path) -> str:
    """'' when the file loads, else why not."""
    try:
        load_config(path)
    except InputError as exc:
        return str(exc)
    return ""


def _loads_when_set(text: str, proposal: Proposal, out: Path) -> str:
    """Whether the file loads once the user has set the lines of ``todo`` (any value): ''
    when it does, else why not (then the summary shows it)."""
    lines = text.splitlines()
    for item in todo(proposal):
        i = line_number(text, item.table, item.key) - 1
        lines[i] = f'{item.key} = "set-by-the-user"'
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.check.", suffix=".toml", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        return _loads(Path(tmp))
    finally:
        Path(tmp).unlink(missing_ok=True)
