"""Table: mechanisms. For each channel (technological innovation, digital infrastructure,
industrial structure rationalization):

- the pilot zones' effect on the channel, TWFE (`mechanism_<m>`, term `treat_post`) and DML
  (`dml_mechanism_<m>`, [dml] aux_learner, the default fixed-effect handling and folds):
  the main evidence, following Jiang Ting (2022, China Industrial Economics) on mediation
  analysis in Chinese economics: a causal effect of the policy on a channel that plausibly
  moves the outcome;
- the channel's link to resilience, TWFE of resilience on the channel with the controls
  (`mechanism_link_<m>`, term `<m>`): descriptive, since the channel is not assigned;
- the indirect effect a x b (a: effect on the channel; b: the channel's coefficient in the
  resilience regression that also holds treat_post, `mechanism_direct_<m>`), model
  `mechanism_indirect_<m>`, term `indirect`, with a seeded cluster bootstrap over cities
  (percentile interval). It is causal only under sequential ignorability (stated in the note).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyfixest.estimation import demean

from analysis.estimates import Estimate, feols, from_regression
from analysis.estimators.dml_core import child_rng
from analysis.estimators.dml_runs import plr_rows, run_plr
from analysis.exhibits import Context, Output
from analysis.labels import label
from analysis.progress import progress

EXHIBIT = "table_mechanisms"
OUTCOME = "resilience"
FIXEF = "city_code + year"
DEMEAN_TOL = 1e-10


def formulas(mechanism: str, controls: tuple[str, ...]) -> dict[str, str]:
    x = " + ".join(controls)
    return {
        f"mechanism_{mechanism}": f"{mechanism} ~ treat_post + {x} | {FIXEF}",
        f"mechanism_link_{mechanism}": f"{OUTCOME} ~ {mechanism} + {x} | {FIXEF}",
        f"mechanism_direct_{mechanism}": f"{OUTCOME} ~ treat_post + {mechanism} + {x} | {FIXEF}",
    }


@dataclass(frozen=True)
class Indirect:
    """a x b and its cluster-bootstrap distribution."""

    a: float
    b: float
    estimate: float
    draws: np.ndarray
    std_error: float
    conf_low: float
    conf_high: float


def indirect_ab(
    values: np.ndarray, city: np.ndarray, year: np.ndarray, n_controls: int
) -> tuple[float, float]:
    """a and b by two-way demeaning (alternating projections) and least squares.
    `values` columns: channel, outcome, treat_post, controls."""
    codes = np.column_stack([np.unique(city, return_inverse=True)[1],
                             np.unique(year, return_inverse=True)[1]]).astype(np.uint64)  # fmt: skip
    dm, converged = demean(np.ascontiguousarray(values, dtype=np.float64), codes,
                           np.ones(len(values)), tol=DEMEAN_TOL)  # fmt: skip
    if not converged:
        raise RuntimeError("two-way demeaning did not converge")
    m, y, d, x = dm[:, 0], dm[:, 1], dm[:, 2], dm[:, 3 : 3 + n_controls]
    a = np.linalg.lstsq(np.column_stack([d, x]), m, rcond=None)[0][0]
    b = np.linalg.lstsq(np.column_stack([d, m, x]), y, rcond=None)[0][1]
    return float(a), float(b)


def bootstrap_indirect(
    panel: pd.DataFrame,
    mechanism: str,
    controls: tuple[str, ...],
    reps: int,
    rng: np.random.Generator,
    level: float,
) -> Indirect:
    """Resample cities with replacement (a drawn city keeps all its years and enters as a
    new cluster each time it is drawn); a x b on every resample; percentile interval."""
    cols = [mechanism, OUTCOME, "treat_post", *controls]
    data = panel[["city_code", "year", *cols]].dropna().sort_values(["city_code", "year"])
    values = data[cols].to_numpy(dtype=float)
    city, year = data["city_code"].to_numpy(), data["year"].to_numpy()
    a, b = indirect_ab(values, city, year, len(controls))
    starts = np.flatnonzero(np.r_[True, city[1:] != city[:-1]])
    bounds = np.r_[starts, len(city)]
    n_cities = len(starts)
    draws = np.empty(reps)
    for r in progress(range(reps), "bootstrap of the indirect effect", reps):
        pick = rng.integers(0, n_cities, n_cities)
        rows = np.concatenate([np.arange(bounds[c], bounds[c + 1]) for c in pick])
        new_city = np.repeat(np.arange(n_cities), bounds[pick + 1] - bounds[pick])
        ar, br = indirect_ab(values[rows], new_city, year[rows], len(controls))
        draws[r] = ar * br
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return Indirect(a, b, a * b, draws, float(np.std(draws, ddof=1)), float(low), float(high))


def _indirect_row(
    ind: Indirect, mechanism: str, base: Estimate, reps: int, ctx: Context
) -> Estimate:
    return Estimate(
        exhibit=EXHIBIT, model=f"mechanism_indirect_{mechanism}", estimator="product_of_coefficients",
        engine="numpy+pyfixest.demean", outcome=OUTCOME, term="indirect", estimate=ind.estimate,
        std_error=ind.std_error, statistic=np.nan, p_value=np.nan, conf_low=ind.conf_low,
        conf_high=ind.conf_high, df=np.nan, n_obs=base.n_obs, n_clusters=base.n_clusters,
        vcov=f"bootstrap:cluster=city_code,B={reps},percentile",
        ssc="none", formula=f"a[{mechanism} ~ treat_post + controls | {FIXEF}] x "
        f"b[{OUTCOME} ~ treat_post + {mechanism} + controls | {FIXEF}]",
        fixef=FIXEF, sample=ctx.sample,
    )  # fmt: skip


def note(cfg_level: float, reps: int, aux: str) -> str:
    return (
        "Main evidence: the pilot zones' effect on each channel (TWFE with city and year fixed "
        f"effects and the controls, clustered by city; DML with the {aux} learner, "
        "within-city handling as in the DML table). The link column regresses resilience on "
        "the channel with the controls and fixed effects: an association, not an effect, "
        "because the channel is not assigned. Direct: the pilot's coefficient when the "
        "channel is held in the regression. Indirect a x b is causal only under sequential "
        "ignorability: (i) the pilot is as good as random given the fixed effects and "
        "controls (parallel trends), and (ii) the channel is as good as random given the "
        "pilot, fixed effects and controls - no unobserved confounder of channel and "
        "resilience and no other channel affected by the pilot that also moves this one - "
        "with linear, constant effects. Its interval is the percentile interval of a "
        f"cluster bootstrap over cities ({reps} resamples, seeded), at level "
        f"{cfg_level:.2f}. Following Jiang Ting (2022), read the indirect effect as "
        "illustrative, not as a test of the mechanism."
    )


def _cell(e: Estimate | None) -> tuple[float, float, float]:
    return (np.nan, np.nan, np.nan) if e is None else (e.estimate, e.std_error, e.p_value)


def run(ctx: Context) -> Output:
    cfg, controls, level = ctx.cfg, ctx.cfg.model.controls, ctx.cfg.inference.level
    d = cfg.dml
    estimates: list[Estimate] = []
    rows = []
    for m in cfg.model.mechanisms:
        forms = formulas(m, controls)
        regs = {model: feols(ctx.panel, f, ctx.spec) for model, f in forms.items()}
        effect = from_regression(
            regs[f"mechanism_{m}"], EXHIBIT, f"mechanism_{m}", "twfe", ctx.sample, ["treat_post"]
        )
        link = from_regression(
            regs[f"mechanism_link_{m}"], EXHIBIT, f"mechanism_link_{m}", "twfe", ctx.sample, [m]
        )
        direct = from_regression(
            regs[f"mechanism_direct_{m}"],
            EXHIBIT,
            f"mechanism_direct_{m}",
            "twfe",
            ctx.sample,
            ["treat_post", m],
        )
        plr = run_plr(ctx.panel, m, controls, d.fe, d.n_folds, (d.aux_learner,), d, cfg.seed)
        dml_row = plr_rows(plr, d.aux_learner, EXHIBIT, f"dml_mechanism_{m}", ctx.sample, level)
        ind = bootstrap_indirect(ctx.panel, m, controls, d.bootstrap_reps,
                                 child_rng(cfg.seed, "indirect-bootstrap", m), level)  # fmt: skip
        indirect = _indirect_row(ind, m, effect[0], d.bootstrap_reps, ctx)
        estimates += [*effect, *dml_row, *link, *direct, indirect]
        cells = {
            "effect_twfe": _cell(effect[0]), "effect_dml": _cell(dml_row[0]),
            "link_twfe": _cell(link[0]), "direct_twfe": _cell(direct[0]),
        }  # fmt: skip
        row: dict[str, object] = {"mechanism": label(m)}
        for name, (est, se, p) in cells.items():
            row.update({name: est, f"{name}_se": se, f"{name}_p": p})
        row.update(
            {"indirect": ind.estimate, "indirect_low": ind.conf_low, "indirect_high": ind.conf_high}
        )
        rows.append(row)
    text = note(level, d.bootstrap_reps, d.aux_learner)
    return Output(
        estimates=estimates,
        tables={EXHIBIT: pd.DataFrame(rows)},
        notes={EXHIBIT: text},
        manifest={"bootstrap": {"reps": d.bootstrap_reps, "resampling": "cities with replacement",
                                "seed": "child_rng(seed, 'indirect-bootstrap', mechanism)",
                                "demean_tol": DEMEAN_TOL}},
    )  # fmt: skip
