"""Finished replications on disk, so that an interrupted run resumes where it stopped and a
larger `--reps` adds to what exists.

Layout under the output folder: one store per design and set of estimators,
`chunks/<design>/<set>/` (`<set>`: `all`, `did` or `dml` for the named sets of
analysis.montecarlo.estimators, else the ids joined by `+`),
holding `spec.json` (what the replications were made with: base seed, estimators, Monte Carlo
settings, configuration), one Parquet file per chunk `reps_<start>_<stop>.parquet`
(replications start..stop-1, written to a temporary name and renamed, so a file is complete
or absent), and `timings.jsonl` (seconds and worker of each chunk: provenance, not results).
Chunks lie on a fixed grid of `chunk_size` replications, so the files of a run do not depend
on the number of workers or the order in which chunks finish. Stores of several estimator
sets of one design may hold different numbers of replications (e.g. the cheap estimators to
500, DML to fewer); replication r is the same simulated panel in each.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.errors import InputError
from analysis.montecarlo.replicate import ChunkResult, typed

CHUNK_FILE = re.compile(r"^reps_(\d{6})_(\d{6})\.parquet$")
FORMAT = 1


@dataclass(frozen=True)
class DesignStore:
    """The stored replications of one design in one output folder."""

    folder: Path

    @property
    def spec_path(self) -> Path:
        return self.folder / "spec.json"

    def open(self, spec: dict[str, Any]) -> None:
        """Create the store, or check that the stored replications were made with `spec`;
        removes what an interrupted write left behind (temporary chunk files)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(".reps_*.tmp-*"):
            stale.unlink()
        if self.spec_path.exists():
            old = json.loads(self.spec_path.read_text(encoding="utf-8"))
            if old != json.loads(json.dumps(spec, default=str)):
                changed = sorted(k for k in {**old, **spec} if old.get(k) != _plain(spec.get(k)))
                raise InputError(
                    f"{self.folder}: holds replications made with other settings (differing: "
                    f"{', '.join(changed)}); use another --out, or delete {self.folder} to "
                    "start this design afresh"
                )
            return
        tmp = self.spec_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(spec, indent=2, sort_keys=True, default=str) + "\n", "utf-8")
        tmp.replace(self.spec_path)

    def files(self) -> list[tuple[int, int, Path]]:
        """Chunk files as (start, stop, path), in order; overlapping files are an error."""
        if not self.folder.is_dir():
            return []
        found = []
        for p in self.folder.iterdir():
            m = CHUNK_FILE.match(p.name)
            if m:
                found.append((int(m.group(1)), int(m.group(2)), p))
        found.sort()
        for (_, stop, p), (start, _, q) in zip(found, found[1:], strict=False):
            if start < stop:
                raise InputError(f"{p} and {q}: chunk files overlap; delete one of them")
        return found

    def done(self) -> set[int]:
        return {r for start, stop, _ in self.files() for r in range(start, stop)}

    def plan(self, reps: int, chunk_size: int) -> list[tuple[int, int]]:
        """The missing replications 0..reps-1 as chunks on the grid of `chunk_size`."""
        done = self.done()
        out = []
        for grid in range(0, reps, chunk_size):
            todo = [r for r in range(grid, min(grid + chunk_size, reps)) if r not in done]
            while todo:  # contiguous runs of missing replications within one grid cell
                run = [todo[0]]
                for r in todo[1:]:
                    if r != run[-1] + 1:
                        break
                    run.append(r)
                out.append((run[0], run[-1] + 1))
                todo = todo[len(run) :]
        return out

    def write(self, result: ChunkResult, provenance: dict[str, Any] | None = None) -> Path:
        c = result.chunk
        path = self.folder / f"reps_{c.start:06d}_{c.stop:06d}.parquet"
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        result.rows.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")
        tmp.replace(path)
        line = {
            "start": c.start,
            "stop": c.stop,
            "seconds": list(result.seconds),
            **result.worker,
            **(provenance or {}),
        }
        with (self.folder / "timings.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, sort_keys=True) + "\n")
        return path

    def read(self) -> pd.DataFrame:
        frames = [pd.read_parquet(p, engine="pyarrow") for _, _, p in self.files()]
        if not frames:
            return pd.DataFrame()
        return typed(pd.concat(frames, ignore_index=True)).sort_values(["rep", "row"])

    def timings(self) -> list[dict[str, Any]]:
        path = self.folder / "timings.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x]

    def spec(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.spec_path.read_text(encoding="utf-8"))
        return loaded


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def store_for(
    out: Path, design: str, estimators: tuple[str, ...], named: dict[str, tuple[str, ...]]
) -> DesignStore:
    """The store of a design and a set of estimators, named after the set when `named` has
    it, else the ids joined by `+`."""
    tag = next((n for n, ids in named.items() if set(ids) == set(estimators)), None)
    return DesignStore(out / "chunks" / design / (tag or "+".join(estimators)))


def stores(out: Path) -> list[tuple[str, DesignStore]]:
    """(design, store) of every store in an output folder, sorted by path."""
    root = out / "chunks"
    if not root.is_dir():
        return []
    found = sorted(p.parent for p in root.glob("*/*/spec.json"))
    return [(p.parent.name, DesignStore(p)) for p in found]
