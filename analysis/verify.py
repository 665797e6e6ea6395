"""`python -m analysis verify DIR`: check a finished run against its own manifest.

The input files must still have the recorded sha256; the study is then re-run with the
recorded data, configuration, seed and exhibits into a temporary folder, and every
estimates, panel and table file must be byte-identical to the one in DIR. Any difference is
reported with the exhibit it belongs to (exit status 3)."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from analysis.errors import CrosscheckFailure, InputError
from analysis.manifest import sha256
from analysis.pipeline import run

log = logging.getLogger("analysis")
COMPARED = ("estimates.csv", "analysis_panel.csv")


def _exhibit_of(rel: str, manifest: dict[str, Any]) -> str:
    name = Path(rel).stem
    for ex in manifest["exhibits"]:
        if name in ex["tables"] or name in ex["figures"]:
            return str(ex["id"])
    return "all" if rel in COMPARED else "-"


def compare(a: Path, b: Path) -> list[str]:
    """Relative paths of compared files that differ between runs a and b, or exist in one only."""

    def files(root: Path) -> set[str]:
        found = {str(p.relative_to(root)) for p in (root / "tables").glob("*") if p.is_file()}
        return found | {f for f in COMPARED if (root / f).exists()}

    names = files(a) | files(b)
    return sorted(
        n
        for n in names
        if not (
            (a / n).exists() and (b / n).exists() and (a / n).read_bytes() == (b / n).read_bytes()
        )
    )


def main(folder: Path) -> int:
    path = folder / "manifest.json"
    if not path.is_file():
        raise InputError(f"{folder}: no manifest.json; is this the output folder of a run?")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    changed = [
        f"{role} ({info['path']})"
        for role, info in manifest["inputs"].items()
        if not Path(info["path"]).is_file() or sha256(Path(info["path"])) != info["sha256"]
    ]
    if changed:
        raise CrosscheckFailure(
            f"verify {folder}: inputs differ from the manifest's sha256: {', '.join(changed)}"
        )
    only = tuple(ex["id"] for ex in manifest["exhibits"])
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        again = run(
            Path(manifest["data"]["file"]),
            Path(manifest["config"]["source"]),
            Path(tmp) / "out",
            manifest["seed"],
            only,
        ).out
        diff = compare(folder, again)
    if diff:
        where = ", ".join(f"{d} (exhibit {_exhibit_of(d, manifest)})" for d in diff)
        raise CrosscheckFailure(
            f"verify {folder}: {len(diff)} file(s) differ from a re-run: {where}"
        )
    print(
        f"verify {folder}: inputs match their sha256; a re-run reproduced every estimate, the panel and all tables byte for byte"
    )
    return 0
