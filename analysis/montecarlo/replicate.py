"""One replication, and a chunk of them (the unit of work a Dask worker runs).

A replication r of design D with base seed S: seed = the first 32-bit word of
`np.random.SeedSequence([S, r])` (nothing else enters it: not the worker, the chunk or the
order of completion); the design's DGP with that seed simulates a raw panel and its truth
(analysis.simulation.dgp); the project's own data stages build the analysis panel
(analysis.prepare: column mapping, interpolation, indices, treatment); the estimators run
with the Monte Carlo configuration and that seed; every estimate with a true value (and
every test) becomes a row beside its truth. Nothing is kept between replications: a worker
holds one panel at a time and returns only the rows.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from analysis.cluster import worker_facts
from analysis.config import Config
from analysis.estimates import Estimate
from analysis.exhibit import Context
from analysis.montecarlo.estimators import ESTIMATORS
from analysis.montecarlo.settings import MCSettings, mc_config
from analysis.montecarlo.targets import PanelFacts, target
from analysis.prepare.loading import map_columns
from analysis.prepare.panel import build_panel
from analysis.simulation.designs import design
from analysis.simulation.dgp import simulate

TESTS = ("joint_pre_F", "p_value")  # rows kept without a true value: tests and their p-values
TEXT = (
    "design",
    "estimator",
    "model",
    "term",
    "estimand",
    "aggregation",
    "control_group",
    "outcome",
    "subset",
    "failure",
)
NUMBERS = ("estimate", "std_error", "p_value", "conf_low", "conf_high", "df", "truth")
# One row per estimate: the replication's keys, then TEXT's descriptions, the numbers, failure.
COLUMNS = ("design", "rep", "seed", "row", *TEXT[1:-1], *NUMBERS, "failure")


def replication_seed(base_seed: int, rep: int) -> int:
    """The seed of replication `rep`: a function of the base seed and `rep` only."""
    return int(np.random.SeedSequence([base_seed, rep]).generate_state(1)[0])


@dataclass(frozen=True)
class Chunk:
    """Replications start..stop-1 of one design: everything a worker needs to run them."""

    design: str
    start: int
    stop: int
    base_seed: int
    estimators: tuple[str, ...]
    settings: MCSettings
    cfg: Config

    @property
    def reps(self) -> range:
        return range(self.start, self.stop)


@dataclass(frozen=True)
class ChunkResult:
    chunk: Chunk
    rows: pd.DataFrame
    seconds: tuple[float, ...]  # wall seconds of each replication (not part of the results)
    worker: dict[str, Any]


def _row(e: Estimate, truth: float | None) -> dict[str, Any]:
    return {
        "estimator": "",
        "model": e.model,
        "term": e.term,
        "estimand": e.estimand,
        "aggregation": e.aggregation,
        "control_group": e.control_group,
        "outcome": e.outcome,
        "subset": e.subset,
        "estimate": e.estimate,
        "std_error": e.std_error,
        "p_value": e.p_value,
        "conf_low": e.conf_low,
        "conf_high": e.conf_high,
        "df": e.df,
        "truth": np.nan if truth is None else truth,
        "failure": "",
    }


def _failure(exc: BaseException) -> dict[str, Any]:
    text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    row: dict[str, Any] = {c: "" for c in TEXT}
    row.update({c: np.nan for c in NUMBERS})
    return {**row, "failure": text}


def replicate(
    design_name: str,
    rep: int,
    base_seed: int,
    estimators: tuple[str, ...],
    settings: MCSettings,
    cfg: Config,
) -> pd.DataFrame:
    """The rows of one replication (see the module docstring)."""
    d = design(design_name)
    seed = replication_seed(base_seed, rep)
    rcfg = mc_config(d.config(cfg, seed), settings)
    label = f"simulated panel ({design_name}, replication {rep})"
    raw, truth = simulate(d.dgp(seed), rcfg)
    panel, _ = build_panel(map_columns(raw, rcfg, label), rcfg, label)
    ctx = Context(panel=panel, cfg=rcfg, truth=truth)
    window = rcfg.model.event_window
    facts = PanelFacts.of(panel, window)
    post = list(range(0, window[1] + 1))
    rows: list[dict[str, Any]] = []
    for est in estimators:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                estimates = ESTIMATORS[est](ctx)
        except Exception as exc:  # recorded and counted, so one failure does not end a run
            rows.append({**_failure(exc), "estimator": est})
            continue
        for e in estimates:
            value = target(e, truth, facts, post)
            if (value is None and e.term not in TESTS) or not np.isfinite(e.estimate):
                continue
            rows.append({**_row(e, value), "estimator": est})
    frame = pd.DataFrame(
        rows, columns=[c for c in COLUMNS if c not in ("design", "rep", "seed", "row")]
    )
    frame.insert(0, "design", design_name)
    frame.insert(1, "rep", rep)
    frame.insert(2, "seed", seed)
    frame.insert(3, "row", np.arange(len(frame)))
    return typed(frame)


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Fixed column types (so every chunk file has the same schema)."""
    out = frame[list(COLUMNS)].copy()
    for c in ("rep", "seed", "row"):
        out[c] = out[c].astype("int64")
    for c in NUMBERS:
        out[c] = out[c].astype("float64")
    for c in TEXT:
        out[c] = out[c].fillna("").astype(str).astype(object)
    return out.reset_index(drop=True)


def run_chunk(chunk: Chunk) -> ChunkResult:
    """Run a chunk's replications one after the other, one BLAS thread, nothing kept."""
    frames, seconds = [], []
    with threadpool_limits(1):
        for rep in chunk.reps:
            t0 = time.perf_counter()
            frames.append(
                replicate(
                    chunk.design, rep, chunk.base_seed, chunk.estimators, chunk.settings, chunk.cfg
                )
            )
            seconds.append(round(time.perf_counter() - t0, 3))
    facts = {**worker_facts(), "pid": os.getpid()}
    return ChunkResult(chunk, pd.concat(frames, ignore_index=True), tuple(seconds), facts)
