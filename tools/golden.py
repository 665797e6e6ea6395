"""Regenerate the golden run, tests/reference/golden/, with a stated reason.

Usage (from the repository root)::

    python tools/golden.py --reason "DML: learners' early stopping changed (issue 12)"

The golden run is the whole study (every exhibit) on the embedded default panel under the
fast configuration tests/reference/golden/config.toml (small DML settings, fewer bootstrap
replications, a shorter HonestDiD grid), so that tests/test_golden.py can re-run it in
about a minute and compare with verify's comparator (identical, or equal within the
precision policy's tolerances). The folder holds what the comparison needs: estimates.csv,
analysis_panel.csv (exactly the panel the estimators used; the R reference values record
its sha256) and tables/*.csv. golden.json records the reason, the commit and the machine of
this and of every earlier regeneration, and the sha256 of each file.

The tool prints what moved against the previous golden run, so the reason can be checked
against it. Regenerate only when an estimate is meant to change; a test failure that the
reason does not explain is a bug to fix, not a golden run to renew.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's analysis package, not an installed copy

from analysis.manifest import describe_machine, git_state, sha256  # noqa: E402
from analysis.precision import write_json  # noqa: E402
from analysis.verify.compare import compare_runs  # noqa: E402

GOLDEN = REPO / "tests" / "reference" / "golden"
CONFIG = GOLDEN / "config.toml"
SIDECAR = GOLDEN / "golden.json"
FILES = ("estimates.csv", "analysis_panel.csv")
# Uncommitted changes here make the recorded commit an incomplete description of the code.
WATCHED = ("analysis", "data", "tools", "tests/reference/golden/config.toml")


def run_fast(out: Path, env: dict[str, str] | None = None) -> Path:
    """The fast configuration on the default panel, as a user would run it (the command
    fixes PYTHONHASHSEED), with extra environment variables if given (a different numerical
    path in the tests); returns the output folder."""
    base = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
    cmd = [sys.executable, "-m", "analysis", "--quiet", "run", "--config", str(CONFIG)]
    subprocess.run(
        [*cmd, "--out", str(out)],
        cwd=REPO,
        env=base | (env or {}),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


def golden_files(folder: Path) -> list[str]:
    """The files of a run that the golden run keeps, relative to the run's folder."""
    tables = sorted(f"tables/{p.name}" for p in (folder / "tables").glob("*.csv"))
    return [f for f in FILES if (folder / f).is_file()] + tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reason", required=True, help="why the golden outputs change")
    args = parser.parse_args(argv)
    if len(args.reason.strip()) < 10:
        parser.error("--reason: say in a sentence why the estimates are meant to change")
    previous = json.loads(SIDECAR.read_text(encoding="utf-8")) if SIDECAR.is_file() else {}
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        out = run_fast(Path(tmp) / "run")
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
        exhibits = [
            {"id": ex["id"], "tables": ex["tables"], "figures": ex["figures"]}
            for ex in manifest["exhibits"]
        ]
        if previous:
            print("against the previous golden run:")
            for rep in compare_runs(GOLDEN, out, previous["exhibits"], suffixes=(".csv",)):
                if rep.status != "identical":
                    print("  " + rep.line())
        if (GOLDEN / "tables").is_dir():
            shutil.rmtree(GOLDEN / "tables")
        (GOLDEN / "tables").mkdir(parents=True)
        files = golden_files(out)
        for rel in files:
            shutil.copyfile(out / rel, GOLDEN / rel)
    git = git_state()
    changes = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", *WATCHED],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    entry = {
        "reason": args.reason.strip(),
        "commit": git.get("commit"),
        "uncommitted_changes": bool(changes),
        "date": datetime.date.today().isoformat(),
        "machine": describe_machine(manifest.get("machine")),
    }
    history = [*previous.get("history", []), entry]
    write_json(
        {
            "about": "Golden run of the fast configuration (config.toml) made by "
            "tools/golden.py; tests/test_golden.py re-runs it and compares.",
            "command": "python -m analysis run --config tests/reference/golden/config.toml",
            "reason": entry["reason"],
            "commit": entry["commit"],
            "versions": manifest["versions"],
            "exhibits": exhibits,
            "sha256": {rel: sha256(GOLDEN / rel) for rel in files},
            "history": history,
        },
        SIDECAR,
    )
    print(f"wrote {len(files)} files to {GOLDEN.relative_to(REPO)} ({entry['reason']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
