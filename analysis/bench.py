"""`python -m analysis bench`: seconds per stage on the default panel, and, side by side in
one run, the pipeline's baseline stage against bare pyfixest calls on the same panel."""

from __future__ import annotations

import functools
import statistics
import time
from collections.abc import Callable

import pandas as pd

from analysis.config import DEFAULT_PANEL, Config, load_config
from analysis.estimators import baseline
from analysis.exhibits import Context, registry
from analysis.pipeline import prepare

REPEATS = 5
SLOW = ("dml_plr", "dml_did", "mechanisms", "heterogeneity")


def _median_seconds(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    import pyfixest as pf

    cfg = load_config()
    t_data = _median_seconds(lambda: prepare(DEFAULT_PANEL, cfg), 3)
    panel, _ = prepare(DEFAULT_PANEL, cfg)
    ctx = Context(panel=panel, cfg=cfg)
    print(
        f"default panel: {panel['city_code'].nunique()} cities x {panel['year'].nunique()} years (SIMULATED)"
    )
    print(f"{'stage':<28}{'seconds (median)':>18}")
    print(f"{'data (load+panel)':<28}{t_data:>18.3f}")
    for ex in registry():
        if ex.id in SLOW:  # timed once: minutes each, and their parts are timed below
            print(
                f"{ex.id:<28}{_median_seconds(functools.partial(ex.run, ctx), 1):>18.3f}  (one run)"
            )
            continue
        seconds = _median_seconds(functools.partial(ex.run, ctx), 3)
        print(f"{ex.id:<28}{seconds:>18.3f}")

    formulas = list(baseline.formulas(cfg.model.controls).values())

    def bare() -> None:
        for f in formulas:
            fit = pf.feols(f, data=panel, vcov={"CRV1": "city_code"})
            fit.se()

    t_pipe = _median_seconds(lambda: baseline.run(ctx))
    t_bare = _median_seconds(bare)
    print()
    print("baseline stage (2 TWFE regressions, same panel), median of 5:")
    print(f"{'pipeline baseline.run':<28}{t_pipe:>10.4f} s")
    print(f"{'bare pyfixest.feols x2':<28}{t_bare:>10.4f} s")
    print(f"{'ratio pipeline / bare':<28}{t_pipe / t_bare:>10.2f}")
    _bench_placebo(panel)
    _bench_dml(panel, cfg)
    return 0


def _bench_dml(panel: pd.DataFrame, cfg: Config) -> None:
    from analysis.estimators.dml import bench_dml

    b = bench_dml(panel, cfg)
    print()
    print(
        f"DML partially linear model ({b.fe}, {b.n_folds} folds, {b.n_rep} repetitions, "
        f"{b.cores} cores): serial against {b.n_jobs} parallel cross-fitting jobs"
    )
    print(b.table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))


def _bench_placebo(panel: pd.DataFrame) -> None:
    from analysis.estimators.placebo import bench_placebo

    b = bench_placebo(panel)
    print()
    print(f"placebo: {b['permutations']} permutations of the TWFE (same panel):")
    print(f"{'vectorized (one matrix op)':<28}{b['vectorized_s']:>10.4f} s")
    print(
        f"{'loop of pyfixest fits':<28}{b['pyfixest_loop_s']:>10.4f} s  (timed on {b['pyfixest_loop_timed_fits']} fits, scaled)"
    )
    print(f"{'one pyfixest fit':<28}{b['pyfixest_one_fit_s']:>10.4f} s")
    print(f"{'loop / vectorized':<28}{b['speedup_vs_loop']:>10.1f}   (goal >= 100)")
    print(f"{'vectorized / one fit':<28}{b['ratio_to_one_fit']:>10.2f}   (goal <= 5)")
