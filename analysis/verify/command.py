"""`python -m analysis verify DIR [--against OTHER]`: check a finished run, telling machine
noise from a difference.

Without --against, the input files must still have the sha256 the manifest records; the
study is then re-run with the recorded data, configuration, seed and exhibits into a
temporary folder. With --against, the two finished runs are compared as they are. Every
estimates, panel and table file is then reported as identical, equal within tolerance (the
precision policy's tolerances, analysis/precision.py; the largest difference is printed) or
different (exhibit, file, row, column, both values and the tolerance). Exit status 0 for
the first two, 3 when any file differs. The machines of both runs are printed, so a
reviewer sees where the original ran."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from analysis.errors import CrosscheckFailure, InputError
from analysis.manifest import describe_machine, machine, sha256
from analysis.verify.compare import FileReport, compare_runs

log = logging.getLogger("analysis")


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.is_file():
        raise InputError(f"{folder}: no manifest.json; is this the output folder of a run?")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable manifest ({exc})") from exc
    return data


def _rerun(folder: Path, manifest: dict[str, Any], out: Path) -> Path:
    from analysis.pipeline import run  # the pipeline only when a re-run is asked for

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
    return run(
        Path(manifest["data"]["file"]),
        Path(manifest["config"]["source"]),
        out,
        manifest["seed"],
        only,
    ).out


def _grouped(reports: list[FileReport]) -> list[str]:
    """One line per file; a table's md and tex renderings are folded into its csv line when
    they have the same status."""
    status = {r.file: r.status for r in reports}
    lines = []
    for r in reports:
        stem, _, ext = r.file.rpartition(".")
        if ext in ("md", "tex") and status.get(f"{stem}.csv") == r.status:
            continue
        line = r.line()
        if ext == "csv" and stem.startswith("tables/"):
            same = [e for e in ("md", "tex") if status.get(f"{stem}.{e}") == r.status]
            if same:
                line = line.replace(f"{r.file} ", f"{stem}.{{{','.join(['csv', *same])}}} ", 1)
        lines.append(line)
    return lines


def main(folder: Path, against: Path | None = None) -> int:
    manifest = _manifest(folder)
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        other_machine: dict[str, Any] | None
        if against is None:
            other = _rerun(folder, manifest, Path(tmp) / "out")
            what, other_machine = "a re-run here", machine()
        else:
            other, what = against, str(against)
            other_machine = _manifest(against).get("machine")
        reports = compare_runs(folder, other, manifest["exhibits"])
    print(f"verify {folder} against {what}")
    print(f"  original ran on: {describe_machine(manifest.get('machine'))}")
    print(f"  compared run on: {describe_machine(other_machine)}")
    for line in _grouped(reports):
        print("  " + line)
    counts = {s: sum(r.status == s for r in reports) for s in ("identical", "within tolerance")}
    different = [r for r in reports if r.status == "different"]
    if different:
        first = different[0]
        raise CrosscheckFailure(
            f"verify {folder}: {len(different)} file(s) differ beyond tolerance: "
            + ", ".join(f"{r.file} (exhibit {r.exhibit})" for r in different)
            + f"; first: {first.differences[0].describe()}"
        )
    print(
        f"verify {folder}: {counts['identical']} file(s) identical, "
        f"{counts['within tolerance']} equal within tolerance, none different"
    )
    return 0
