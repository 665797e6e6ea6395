"""Provenance: versions, seed, input hashes, the resolved configuration, time per stage."""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.config import REPO_ROOT

PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "pyfixest",
    "doubleml",
    "scikit-learn",
    "diff-diff",
    "matplotlib",
    "rpy2",
)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_state() -> dict[str, Any]:
    """The commit of the code that ran, and whether the work tree had changes."""
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        return {"commit": None, "reason": "not a git checkout"}

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain", "--", "analysis", "rbridge", "data")),
    }


def versions(extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    """Python's version and those of PACKAGES (and of `extra`), None where not installed."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in (*PACKAGES, *extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def r_version() -> dict[str, Any]:
    """R's version if R is on the PATH (the run itself uses Python only)."""
    exe = shutil.which("R")
    if exe is None:
        return {
            "R": None,
            "reason": "R is not installed; `python -m analysis crosscheck` reports skipped",
        }
    line = subprocess.run(
        [exe, "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    return {
        "R": line[0] if line else None,
        "used_in_run": False,
        "note": "R runs in `python -m analysis crosscheck`",
    }


def inputs(paths: dict[str, Path]) -> dict[str, dict[str, str]]:
    return {role: {"path": str(p), "sha256": sha256(p)} for role, p in paths.items()}
