"""The issue's acceptance criteria, evaluated on a summary (analysis.montecarlo.summary):

- `study` and `constant`: Callaway-Sant'Anna (cs_simple), imputation and DML (dml_plr) have
  |bias| < 0.1 SD and coverage of the configured interval within two Monte Carlo standard
  errors of the nominal level (the MC SE at the nominal level, sqrt(level (1 - level) / n));
- `staggered`: the TWFE bias is shown beside the heterogeneity-robust estimators', which
  should be near zero (|bias| < 0.1 SD);
- `no_effect`: every 5% test of the summary table rejects within two Monte Carlo standard
  errors of 5% (sqrt(0.05 x 0.95 / n)); the HonestDiD sets are left out (with parallel
  trends they are conservative by construction).

Each line says what was checked, the numbers and `pass` or `fail`; a design that was not run
is left out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.montecarlo.summary import headline

UNBIASED = (("cs_simple", "ATT"), ("imputation", "ATT"), ("dml_plr", "treat_post"))
ROBUST = (
    ("cs_simple", "ATT"),
    ("sunab", "ATT"),
    ("did2s", "ATT"),
    ("imputation", "ATT"),
    ("dml_did_simple", "ATT"),
)
TWFE = (("baseline_twfe", "treat_post"), ("baseline_twfe_controls", "treat_post"))
BIAS_SD = 0.1


def _nominal_mcse(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n)) if n else np.nan


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if float(b) > 0 else np.nan


def _band(center: float, half: float) -> str:
    return f"{max(center - half, 0.0):.4f} to {min(center + half, 1.0):.4f}"


def evaluate(summary: pd.DataFrame, level: float) -> pd.DataFrame:
    """One row per check: design, quantity, criterion, value, bound, status."""
    by: dict[tuple[str, str, str], dict[str, Any]] = {}
    for record in summary.to_dict("records"):
        fields = {str(k): v for k, v in record.items()}
        by[(str(fields["design"]), str(fields["model"]), str(fields["term"]))] = fields
    rows: list[dict[str, object]] = []

    def add(
        design: str,
        quantity: tuple[str, str],
        criterion: str,
        value: float,
        bound: str,
        ok: bool | None,
    ) -> None:
        status = "shown" if ok is None else ("pass" if ok else "fail")
        rows.append(
            {
                "design": design,
                "quantity": "/".join(quantity),
                "criterion": criterion,
                "value": value,
                "bound": bound,
                "status": status,
            }
        )

    for design in ("study", "constant"):
        for q in UNBIASED:
            if (design, *q) not in by:
                continue
            r = by[(design, *q)]
            ratio = _ratio(abs(r["bias"]), r["sd"])
            add(design, q, "|bias| / SD", ratio, f"< {BIAS_SD}", bool(ratio < BIAS_SD))
            band = 2 * _nominal_mcse(level, int(r["n"]))
            cov = float(r["coverage"])
            add(design, q, "coverage", cov, _band(level, band), bool(abs(cov - level) <= band))
    for q in (*TWFE, *ROBUST):
        if ("staggered", *q) not in by:
            continue
        r = by[("staggered", *q)]
        ratio = _ratio(r["bias"], r["sd"])
        robust = q in ROBUST
        add(
            "staggered",
            q,
            "bias / SD",
            ratio,
            f"|.| < {BIAS_SD}" if robust else "",
            bool(abs(ratio) < BIAS_SD) if robust else None,
        )
    alpha = 1 - level
    for (design, model, term), r in by.items():
        rate = float(r["rejection"])
        if design != "no_effect" or not headline(model, term) or not np.isfinite(rate):
            continue
        if model.startswith("honest_rm"):  # conservative by design under parallel trends
            continue
        band = 2 * _nominal_mcse(alpha, int(r["n"]))
        add(
            design,
            (model, term),
            "rejection rate",
            rate,
            _band(alpha, band),
            bool(abs(rate - alpha) <= band),
        )
    return pd.DataFrame(
        rows, columns=["design", "quantity", "criterion", "value", "bound", "status"]
    )
