"""Peak memory of a stage: the resident memory of this process and its child processes (the
DML pool, a local Dask cluster), sampled by a background thread, for run.log, manifest.json
and `bench --scale --study`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

INTERVAL = 0.25  # seconds between samples (a sample takes ~3 ms: about 1% of a core)


def resident_mb() -> float:
    """Resident memory (MB) of this process and all its descendants."""
    me = psutil.Process()
    total = me.memory_info().rss
    for child in me.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:  # ended between the listing and the reading
            continue
    return total / 2**20


class PeakMemory:
    """A sampler thread; `stage()` yields while sampling and records the stage's peak (MB)
    in `peaks`."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self.peaks: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        peak = [resident_mb()]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(self.interval):
                peak[0] = max(peak[0], resident_mb())

        thread = threading.Thread(target=sample, name=f"memory:{name}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self.peaks[name] = round(max(peak[0], resident_mb()), 1)
