"""The precision policy, in one place: how every number the project writes to a file is
rounded, how JSON is written, and how far two runs' numbers may differ before they count as
different (the tolerance table `verify` and the golden-output test use).

Why numbers are rounded
-----------------------
The last bits of a floating-point result depend on the machine's numerical path, not only on
the inputs and the seed: OpenBLAS picks its kernels by CPU (Haswell, SkylakeX, Zen,
Sandybridge, ...), numpy picks SIMD loops by instruction set, and a sum taken in another
order differs by an ulp or so. Measured on this project by running the same study with
another OpenBLAS kernel (`OPENBLAS_CORETYPE`) and without numpy's AVX2 loops
(`NPY_DISABLE_CPU_FEATURES`), relative to each number's scale (README, "Precision and
verification"): the analysis panel and the simulation's truth differ by <= 1e-15, least
squares and other closed-form estimates by <= 1e-13, estimates that come out of iterative
solvers by <= 1e-9, the HonestDiD smoothness sets (a numerical optimizer) by ~1e-4.

So every float written to a file carries SIGNIFICANT_DIGITS = 10 significant digits:
- the noise of deterministic (closed-form) results, <= 1e-13 relative, stays three orders of
  magnitude below the last written digit (a unit of the 10th digit is 1e-10 to 1e-9 of the
  value), so on another machine the written text is the same unless a value lies within
  ~1e-13 of a rounding midpoint (chance ~1e-4 per value; then it moves by one unit of the
  last digit, which the tolerances below accept and report);
- ten digits are far more than any estimate's statistical precision (standard errors are
  1e-2 of the estimates) or the tables' four decimals, and rounding the analysis panel at
  1e-10 relative moves the R cross-check's estimates by far less than its tolerances
  (rbridge/tolerances.py, 1e-8 and above).
Results that depend on learners or optimizers keep machine noise beyond the tenth digit;
for them the written text may differ between machines and `verify` compares with the
tolerances of TOLERANCES.

Files and their format
----------------------
- CSV (estimates.csv, analysis_panel.csv): floats as `%.10g` (FLOAT_FORMAT), "\\n" line ends,
  UTF-8 (`write_csv`). Display tables keep their fixed decimals (analysis.render.tables).
- The analysis panel is rounded to the policy before any estimator sees it
  (analysis.pipeline.prepare, `round_frame`): analysis_panel.csv is then exactly the panel the
  estimators used, the R cross-check reads the very doubles Python used (rounding the file
  only would leave the two sides ~1e-9 apart), and the last bits the panel's construction
  picks up on a machine (an ulp of a log or a sum) do not reach the estimates.
- JSON (manifest.json, the simulation's truth, reference inputs): `canonical_json`: keys
  sorted, two-space indent, separators "," and ": ", UTF-8 characters unescaped, a final
  newline, every float rounded to SIGNIFICANT_DIGITS (non-finite floats as Python's json
  writes them, NaN and Infinity).
- The simulated raw panel keeps the data-generating process's own rounding (yearbook-like
  decimals, analysis.simulation.dgp), coarser than this policy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SIGNIFICANT_DIGITS = 10
FLOAT_FORMAT = f"%.{SIGNIFICANT_DIGITS}g"


def round_float(x: float) -> float:
    """x rounded to SIGNIFICANT_DIGITS significant digits (non-finite values unchanged)."""
    x = float(x)
    return float(FLOAT_FORMAT % x) if math.isfinite(x) else x


def rounded(obj: Any) -> Any:
    """A JSON-like structure with every float rounded (ints, bools and text unchanged)."""
    if isinstance(obj, bool | int | str) or obj is None:
        return obj
    if isinstance(obj, float | np.floating):
        return round_float(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, Mapping):
        return {str(k): rounded(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [rounded(v) for v in obj]
    return obj


def canonical_json(obj: Any) -> str:
    """Canonical JSON text of obj (see the module's docstring); objects json cannot write
    (paths, dates) are written as their str()."""
    text = json.dumps(
        rounded(obj),
        sort_keys=True,
        indent=2,
        separators=(",", ": "),
        ensure_ascii=False,
        default=str,
    )
    return text + "\n"


def write_json(obj: Any, path: Path) -> None:
    """Write canonical JSON to path atomically (a temporary file renamed into place)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(canonical_json(obj), encoding="utf-8")
    tmp.replace(path)


def round_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every float column rounded to SIGNIFICANT_DIGITS: exactly the values
    write_csv writes, so a frame rounded here and the file written from it hold the same
    doubles (the pipeline estimates on the rounded analysis panel; see the docstring)."""
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            values = out[c].to_numpy(dtype=float, na_value=np.nan).tolist()
            out[c] = np.array([FLOAT_FORMAT % v for v in values], dtype=float)
    return out


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame as CSV under the policy: floats at FLOAT_FORMAT, "\\n" line ends, UTF-8."""
    frame.to_csv(
        path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n", encoding="utf-8"
    )


# ---- How far two runs may differ ----------------------------------------------------------
#
# A number b matches a number a when |a - b| <= rtol * max(|a|, |b|, scale), where scale is
# the magnitude the number was computed from: the estimate's standard error for estimates,
# standard errors and interval bounds (so a coefficient that is zero in theory is compared
# on the scale of its noise), 1 for test statistics and p-values, the column's typical size
# for panel variables. Table cells are shown with fixed decimals: there one unit of the last
# shown decimal is added, since a value within tolerance may round either way.


@dataclass(frozen=True)
class Tolerance:
    kind: str
    rtol: float
    reason: str


TOLERANCES: dict[str, Tolerance] = {
    t.kind: t
    for t in (
        Tolerance(
            "count",
            0.0,
            "integers (observations, clusters, cohorts, years, integer columns): no rounding "
            "path changes a count, so any difference is real",
        ),
        Tolerance(
            "closed_form",
            1e-8,
            "least squares, group means, influence-function standard errors, fixed "
            "aggregations and decompositions: machine noise measured <= 1e-13; a written "
            "value on a rounding boundary moves by one unit of its 10th digit (<= 1e-9), so "
            "1e-8 leaves ten such units and still catches a change of the panel in its "
            "10th digit (which moves the TWFE control coefficients by ~5e-8)",
        ),
        Tolerance(
            "iterative",
            1e-6,
            "solvers stopped at a convergence tolerance (logit propensity scores of "
            "Callaway-Sant'Anna with covariates and of PSM, pyfixest's iterative demeaning "
            "in did2s): another rounding path stops at a slightly different iterate; "
            "measured <= 7e-10",
        ),
        Tolerance(
            "resampling",
            1e-6,
            "bootstrap and permutation results: the draws are seeded and identical on every "
            "machine and each is computed like a closed-form or iterative estimate (measured "
            "<= 5e-13); a p-value or percentile would jump by a whole draw only if a draw "
            "tied the observed statistic to ~1e-13",
        ),
        Tolerance(
            "learner",
            1e-5,
            "double machine learning: Lasso by coordinate descent to a tolerance, boosting, "
            "forests and neural networks fitted iteratively, then cross-fitted: measured "
            "<= 4e-14 here with every learner, the margin is for noise amplified through "
            "the fits on other CPUs; 1e-5 of an estimate (a fraction of a percent of its "
            "standard error) is immaterial, while a real change (folds, learner settings) "
            "moves estimates by 1e-3 and more",
        ),
        Tolerance(
            "optimizer",
            1e-2,
            "HonestDiD sensitivity sets and breakdown values: cone programs solved by an "
            "interior-point method (ECOS) inside a bisection on numerical derivatives over the "
            "estimator's standard deviation, a test inversion by grid scans, and bisections "
            "for breakdowns, where a last-bit difference can move a choice by a step; the "
            "smoothness sets were identical under another OpenBLAS kernel (measured), the "
            "previous SLSQP-based ones moved by 1.3e-4 of the standard error",
        ),
    )
}

# The kind of each estimator of estimates.csv (its `estimator` column, before any ":"), the
# reason being the estimator's numerical method. An estimator missing here is compared as
# UNKNOWN_KIND and reported; tests/test_precision.py requires every estimator of a full run
# to be listed.
KIND_BY_ESTIMATOR: dict[str, str] = {
    "twfe": "closed_form",
    "twfe_event_study": "closed_form",
    "wald_pretrend": "closed_form",
    "sun_abraham": "closed_form",
    "borusyak_jaravel_spiess": "closed_form",
    "bacon": "closed_form",
    "dcdh_weights": "closed_form",
    "gardner_two_stage": "iterative",
    "callaway_santanna": "iterative",
    "psm_twfe": "iterative",
    "product_of_coefficients": "resampling",
    "randomization_inference": "resampling",
    "wild_cluster_bootstrap": "resampling",
    "cohort_randomization": "resampling",
    "honest_did": "optimizer",
    "dml_plr": "learner",
    "dml_did": "learner",
}
UNKNOWN_KIND = "iterative"
# Whatever the estimator, these mark the kind of a whole row (structured columns first).
KIND_BY_ENGINE = {"doubleml": "learner"}
KIND_BY_ESTIMAND = {"randomization_test": "resampling", "sensitivity": "optimizer"}
RESAMPLING_VCOV = ("bootstrap", "multiplier-bootstrap", "randomization")


def estimate_kind(estimator: str, engine: str = "", estimand: str = "", vcov: str = "") -> str:
    """The tolerance kind of a row of estimates.csv, from its structured columns: the
    engine and estimand where they decide (a learner's engine, a sensitivity set), then the
    estimator; a resampled standard error makes a closed-form row a resampling one."""
    kind = (
        KIND_BY_ENGINE.get(engine)
        or KIND_BY_ESTIMAND.get(estimand)
        or KIND_BY_ESTIMATOR.get(estimator.split(":")[0], UNKNOWN_KIND)
    )
    if kind == "closed_form" and vcov.split(":")[0].split(",")[0] in RESAMPLING_VCOV:
        return "resampling"
    return kind


def looser(a: str, b: str) -> str:
    """The kind with the larger tolerance (a table with several kinds takes the loosest)."""
    return a if TOLERANCES[a].rtol >= TOLERANCES[b].rtol else b


def allowed(a: float, b: float, kind: str, scale: float = 0.0, unit: float = 0.0) -> float:
    """The largest |a - b| that counts as machine noise for numbers of this kind; `unit` is
    one unit of the last shown decimal of a fixed-decimal display."""
    return TOLERANCES[kind].rtol * max(abs(a), abs(b), abs(scale)) + unit


def same_number(a: float, b: float, kind: str, scale: float = 0.0, unit: float = 0.0) -> bool:
    """a and b agree within the tolerance of `kind` (NaN matches NaN; infinities match
    when equal)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= allowed(a, b, kind, scale, unit)


def markdown_table() -> str:
    """The tolerance table as Markdown (the README's copy; tests/test_precision.py checks
    that the two agree)."""
    lines = ["| kind | rtol | why |", "|---|---|---|"]
    lines += [f"| `{t.kind}` | {t.rtol:g} | {t.reason} |" for t in TOLERANCES.values()]
    return "\n".join(lines) + "\n"
