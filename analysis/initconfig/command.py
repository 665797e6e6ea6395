"""`python -m analysis init-config DATA --out FILE.toml`: a starting configuration for a
user's panel, its mappings guessed from the header and a sample of rows.

Reads the file as the loader does (``analysis.prepare.loading.read_table``), proposes the
mapping (``analysis.initconfig.guess.propose``), writes it as TOML with the reasons as comments
(``analysis.initconfig.text``) atomically, checks that it loads with
``analysis.config.load_config`` and prints the summary: the key and year found, every
mapping, the units written in the headers, and what was left out.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from analysis.config import load_config
from analysis.errors import InputError
from analysis.initconfig.guess import propose
from analysis.initconfig.text import render, summary
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
    _write_atomically(render(proposal, out), out)
    try:
        load_config(out)
        loads = ""
    except InputError as exc:
        loads = str(exc)
    print(summary(proposal, out, loads), end="")
    return 0
