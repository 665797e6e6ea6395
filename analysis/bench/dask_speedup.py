"""`python -m analysis bench --dask`: the DML exhibits of the whole study on a county-sized
panel (bench --scale --study's simulated panel and settings), run by `python -m analysis run`
with its own cross-fitting pool, with a Dask LocalCluster of one worker process and of K;
seconds of each DML stage, the speed-up of K workers over one, and whether every estimate
and table is the same bytes in the three runs.

Each run is its own process, as a user runs it (`run --workers K`): the times include
nothing of another run's caches. The wall seconds of a run include starting Python and the
cluster; the stage seconds (manifest.json `seconds`) are the exhibits' alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from analysis.bench.study import CHANGES, write_inputs

ROWS = 40_000
DML_EXHIBITS = ("dml_plr", "dml_did", "mechanisms", "heterogeneity")


def _run(data: Path, config: Path, out: Path, workers: int | None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "analysis", "--quiet", "run", "--data", str(data)]
    cmd += ["--config", str(config), "--out", str(out), "--only", ",".join(DML_EXHIBITS)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise RuntimeError(f"run --workers {workers}: exit {done.returncode}: {tail}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return {"seconds": manifest["seconds"], "wall": wall}


def _outputs(out: Path) -> dict[str, bytes]:
    files = [out / "estimates.csv", out / "analysis_panel.csv", *(out / "tables").glob("*.csv")]
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(files)}


def main(rows: int = ROWS, workers: int = 2) -> int:
    names = ("own pool", "1 Dask worker", f"{workers} Dask workers")
    with tempfile.TemporaryDirectory(prefix="bench-dask-") as tmp:
        data, config = write_inputs(Path(tmp), rows)
        runs, outputs = {}, {}
        for name, k in zip(names, (None, 1, workers), strict=True):
            print(f"bench --dask: {rows:,} rows, {name} ...", file=sys.stderr, flush=True)
            out = Path(tmp) / f"out{k}"
            runs[name] = _run(data, config, out, k)
            outputs[name] = _outputs(out)
    identical = all(outputs[n] == outputs[names[0]] for n in names[1:])
    many = runs[names[2]]
    print(
        f"The DML exhibits on a simulated panel of about {rows:,} rows (SIMULATED; "
        "bench --scale --study's panel and settings), each run its own process; seconds."
    )
    print(f"{'stage':<26}" + "".join(f"{n:>18}" for n in names) + f"{'speed-up':>12}")
    for stage in [s for s in many["seconds"] if s in DML_EXHIBITS] + ["DML stages", "wall"]:
        if stage == "wall":
            cells = [runs[n]["wall"] for n in names]
        elif stage == "DML stages":
            cells = [sum(runs[n]["seconds"].get(s, 0.0) for s in DML_EXHIBITS) for n in names]
        else:
            cells = [runs[n]["seconds"][stage] for n in names]
        ratio = cells[1] / cells[2] if cells[2] else float("nan")
        print(f"{stage:<26}" + "".join(f"{c:18.2f}" for c in cells) + f"{ratio:11.2f}x")
    print(f"speed-up of {workers} workers over 1 (DML stages), goal >= 1.7 with 2")
    print(
        "estimates.csv, analysis_panel.csv and every table: "
        + ("the same bytes in the three runs" if identical else "DIFFERENT between the runs")
    )
    print("Settings: the study's (data/study.toml), except:")
    for key, why in CHANGES.items():
        print(f"  {key}: {why}")
    return 0 if identical else 1
