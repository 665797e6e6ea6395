"""`python -m analysis bench --scale`: each DID stage and one DML specification on synthetic
panels of 10^4, 10^5 and 10^6 rows (analysis.bench.scale_panel, SIMULATED), the pipeline's call
beside the bare library call on the same panel, with the cost per 10^5 rows at each size
(growth beyond linear shows as a rising cost per row) and the peak memory of each size.

Each size runs in its own process (`python -m analysis.bench.scale ROWS`), so its peak
resident memory (getrusage) is that size's alone; it prints one JSON line the parent reads.
Seconds are wall time (time.perf_counter) and CPU time (user + system of the process and
its finished children), one run of each stage after a warm-up on a small panel (so JIT
compilation and imports are not counted). The placebo runs twice: on the balanced panel and
on the same panel with a tenth of its rows dropped at random (its general route).
"""

from __future__ import annotations

import dataclasses
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

SIZES = (10**4, 10**5, 10**6)
SEED = 20240527
PERMUTATIONS = 1000
MISSING = 0.1  # share of rows dropped for the unbalanced placebo
STAGES = ("baseline", "event_study", "callaway_santanna", "imputation", "placebo", "dml")


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), _cpu()
    fn()
    return time.perf_counter() - t0, _cpu() - c0


def _stages(n_rows: int) -> dict[str, Callable[[], object]]:
    """name -> the pipeline's call and name_bare -> the library's own call, on one panel."""
    import diff_diff
    import pyfixest as pf

    from analysis.bench.scale_panel import CONTROLS, OUTCOME, scale_panel
    from analysis.config import load_config
    from analysis.engines import diff_diff_adapter as dd
    from analysis.engines import pyfixest_adapter as fx
    from analysis.estimators.randomization import randomization_test
    from analysis.exhibit import Context
    from analysis.models import callaway_santanna, twfe
    from analysis.models.dml import run_plr

    cfg = load_config()
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, controls=CONTROLS))
    panel = scale_panel(n_rows, SEED).panel
    # the same panel with a tenth of its rows missing at random: the placebo's general route
    dropped = np.random.default_rng(SEED).random(len(panel)) < MISSING
    unbalanced = panel[~dropped].reset_index(drop=True)
    ctx = Context(panel=panel, cfg=cfg)
    keys = ["city_code", "year", "first_treat", OUTCOME]
    formula = f"{OUTCOME} ~ treat_post | city_code + year"
    dml_cfg = dataclasses.replace(cfg.dml, n_rep=1, n_jobs=1)

    def cs_pipeline() -> object:
        f = callaway_santanna.fit(panel, callaway_santanna.CSSpec())
        return callaway_santanna.aggregations(f)

    def cs_bare() -> object:
        est = diff_diff.CallawaySantAnna(control_group="never_treated", base_period="varying")
        res = est.fit(
            panel[keys], outcome=OUTCOME, unit="city_code", time="year", first_treat="first_treat"
        )
        return res.aggregate("event_study")

    def imputation_bare() -> object:
        est = diff_diff.ImputationDiD(pretrends=True)
        res = est.fit(
            panel[keys], outcome=OUTCOME, unit="city_code", time="year", first_treat="first_treat"
        )
        return res.aggregate("event_study")

    return {
        "baseline": lambda: fx.feols(panel, formula, ctx.spec),
        "baseline_bare": lambda: pf.feols(formula, data=panel, vcov={"CRV1": "city_code"}).se(),
        "event_study": lambda: twfe._event_study(ctx),
        "callaway_santanna": cs_pipeline,
        "callaway_santanna_bare": cs_bare,
        "imputation": lambda: dd.imputation(panel, OUTCOME),
        "imputation_bare": imputation_bare,
        "placebo": lambda: randomization_test(
            panel, PERMUTATIONS, np.random.default_rng(SEED), OUTCOME
        ),
        "placebo_one_fit_bare": lambda: pf.feols(formula, data=panel, vcov="iid"),
        "placebo_unbalanced": lambda: randomization_test(
            unbalanced, PERMUTATIONS, np.random.default_rng(SEED), OUTCOME
        ),
        "placebo_unbalanced_one_fit_bare": lambda: pf.feols(formula, data=unbalanced, vcov="iid"),
        "dml": lambda: run_plr(panel, OUTCOME, CONTROLS, "within", 5, ("lasso",), dml_cfg, SEED),
    }


def measure(n_rows: int) -> dict[str, Any]:
    """Seconds of every stage on one panel of about n_rows rows (this process)."""
    import warnings

    warnings.simplefilter("ignore")
    for fn in _stages(2_000).values():  # warm-up: imports and JIT compilation
        fn()
    stages = _stages(n_rows)
    out: dict[str, Any] = {"rows": n_rows}
    for name, fn in stages.items():
        out[name] = _timed(fn)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _child(n_rows: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.bench.scale", str(n_rows)],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main(sizes: tuple[int, ...] = SIZES) -> int:
    results = [_child(n) for n in sizes]
    print("scale: synthetic panels (SIMULATED), 14 years, 4 cohorts + never treated")
    print(
        "wall seconds (cpu seconds) per stage; per 1e5 rows; ratio of cost per row to the smallest"
    )
    first = results[0]
    names = [k for k in first if k not in ("rows", "peak_rss_mb")]
    head = "".join(f"{n:>34}" for n in (f"{r['rows']:,} rows" for r in results))
    print(f"{'stage':<26}{head}")
    for name in names:
        cells = []
        for r in results:
            wall, cpu = r[name]
            per = wall / r["rows"] * 1e5
            ratio = per / (first[name][0] / first["rows"] * 1e5)
            cells.append(f"{wall:9.3f} ({cpu:7.2f}) {per:7.3f}/1e5 x{ratio:4.2f}")
        print(f"{name:<26}" + "".join(f"{c:>34}" for c in cells))
    print(f"{'peak memory (MB)':<26}" + "".join(f"{r['peak_rss_mb']:>34.0f}" for r in results))
    for r in results:
        print(
            f"{r['rows']:>9,} rows: baseline pipeline / bare {r['baseline'][0] / r['baseline_bare'][0]:.2f}"
        )
        for name in ("placebo", "placebo_unbalanced"):
            placebo, one = r[name][0], r[f"{name}_one_fit_bare"][0]
            print(
                f"{'':>15}{name}: {PERMUTATIONS} permutations / one fit {placebo / one:.2f} "
                f"(goal <= 5); {PERMUTATIONS} refits ~ {PERMUTATIONS * one:.1f} s, "
                f"{PERMUTATIONS * one / placebo:.0f}x slower (goal >= 100)"
            )
    return 0


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
