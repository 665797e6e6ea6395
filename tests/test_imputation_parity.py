"""The imputation estimator's pre-period coefficients (analysis.engines.diff_diff_adapter.
imputation) against an independent dummy-variable regression, and against R's didimputation
through the bridge (rbridge/R/did.R, rb_imputation).

didimputation's pre-trend test (pretrends) regresses the outcome, on the untreated
observations (never-treated units and the years before treatment of the others), on one
dummy per lead with unit and year fixed effects, clustered by unit with fixest's default
small-sample correction. Every lead together is collinear with the unit effects; fixest drops
the last, -1, which is therefore the reference. Each panel is also run with the outcome
scaled by 1e-5 (a rate, like the divorce panel's suicide rate): both engines demean
iteratively until an absolute change, and the coefficients must not depend on the scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.engines.diff_diff_adapter import imputation

SCALES = (1.0, 1e-5)


def staggered_panel(scale: float = 1.0, seed: int = 3) -> pd.DataFrame:
    """40 units, 12 years, cohorts 5, 8 and 10 and the never treated; a pre-trend of 0.05 per
    year before treatment and an effect growing after it."""
    rng = np.random.default_rng(seed)
    cohorts = np.array([0, 5, 8, 10])[np.arange(40) % 4]
    unit_fe, year_fe = rng.normal(size=40), rng.normal(size=12)
    rows = []
    for i, g in enumerate(cohorts):
        for t in range(1, 13):
            e = t - g
            trend = 0.05 * e if g and e < 0 else 0.0
            effect = 1 + 0.3 * e if g and e >= 0 else 0.0
            y = unit_fe[i] + year_fe[t - 1] + trend + effect + rng.normal(scale=0.5)
            rows.append((i + 1, 2000 + t, 2000 + g if g else 0, y * scale))
    return pd.DataFrame(rows, columns=["city_code", "year", "first_treat", "resilience"])


def pretrend_reference(panel: pd.DataFrame) -> pd.DataFrame:
    """didimputation's pre-trend regression by brute force: least squares (QR) of the outcome on
    lead dummies (all but -1), unit dummies and year dummies (first year omitted) on the
    untreated observations; clustered by unit, G/(G-1) (n-1)/(n-K) with K = leads + years
    (fixest's K.fixef = 'nonnested': the unit effects are nested in the cluster)."""
    g, t = panel["first_treat"], panel["year"]
    d = panel[(g == 0) | (t < g)]
    rel = np.where(d["first_treat"] > 0, d["year"] - d["first_treat"], np.nan)
    leads = sorted({int(k) for k in rel[np.isfinite(rel)]} - {-1})
    x = np.hstack(
        [
            np.column_stack([rel == k for k in leads]),
            pd.get_dummies(d["city_code"]).to_numpy(),
            pd.get_dummies(d["year"]).to_numpy()[:, 1:],
        ]
    ).astype(float)
    y = d["resilience"].to_numpy(float)
    q, r = np.linalg.qr(x)
    beta = np.linalg.solve(r, q.T @ y)
    resid = y - x @ beta
    r_inv = np.linalg.inv(r)
    bread = r_inv @ r_inv.T
    cluster = d["city_code"].to_numpy()
    meat = np.zeros((x.shape[1], x.shape[1]))
    for c in np.unique(cluster):
        s = x[cluster == c].T @ resid[cluster == c]
        meat += np.outer(s, s)
    n, n_clusters, k = len(y), len(np.unique(cluster)), len(leads) + d["year"].nunique()
    vcov = bread @ meat @ bread * n_clusters / (n_clusters - 1) * (n - 1) / (n - k)
    return pd.DataFrame(
        {"estimate": beta[: len(leads)], "std_error": np.sqrt(np.diag(vcov))[: len(leads)]},
        index=leads,
    )


def post_reference(panel: pd.DataFrame) -> pd.Series:
    """The imputation estimator's post-period effects by brute force: Y(0) from unit and year
    dummies fitted on the untreated observations, treated residuals averaged by horizon."""
    g, t = panel["first_treat"], panel["year"]
    treated = ((g > 0) & (t >= g)).to_numpy()
    x = np.hstack(
        [
            pd.get_dummies(panel["city_code"]).to_numpy(),
            pd.get_dummies(panel["year"]).to_numpy()[:, 1:],
        ]
    ).astype(float)
    y = panel["resilience"].to_numpy(float)
    beta = np.linalg.lstsq(x[~treated], y[~treated], rcond=None)[0]
    tau = (y - x @ beta)[treated]
    return pd.Series(tau).groupby((t - g).to_numpy()[treated]).mean()


def project(panel: pd.DataFrame) -> pd.DataFrame:
    c = imputation(panel, "resilience")
    return pd.DataFrame({"estimate": c.estimate, "std_error": c.std_error}, index=list(c.times))


def relative(a: pd.Series, b: pd.Series, scale: pd.Series | None = None) -> float:
    """max |a - b| / max(|a|, |b|, scale): the rbridge cross-check's measure."""
    size = np.maximum(a.abs(), b.abs())
    if scale is not None:
        size = np.maximum(size, scale.abs())
    return float(((a - b).abs() / size).max())


@pytest.mark.parametrize("scale", SCALES)
def test_pretrends_equal_dummy_variable_regression(scale: float) -> None:
    panel = staggered_panel(scale)
    ours, ref = project(panel), pretrend_reference(panel)
    pre = ours[ours.index < 0]
    assert list(pre.index) == list(ref.index) == list(range(-9, -1))  # -1 is the reference
    assert relative(pre["estimate"], ref["estimate"]) < 1e-8
    assert relative(pre["std_error"], ref["std_error"]) < 1e-8
    # the simulated pre-trend (0.05 per year, relative to -1) is recovered
    assert pre.loc[-9, "estimate"] == pytest.approx(-0.4 * scale, abs=0.5 * scale)


def test_post_period_effects_equal_brute_force_imputation() -> None:
    panel = staggered_panel()
    ours, ref = project(panel), post_reference(panel)
    post = ours[ours.index >= 0]
    assert list(post.index) == list(ref.index)
    assert relative(post["estimate"], ref, post["std_error"]) < 1e-8


@pytest.fixture(scope="module")
def didimputation() -> None:
    from rbridge.engines import ENGINES
    from rbridge.session import detect

    problem = ENGINES["didimputation"].unavailable(detect())
    if problem:
        pytest.skip(
            f"needs R's didimputation and fixest through rpy2 (R_LIBS or "
            f"RBRIDGE_R_LIBS pointing at a library with both): {problem}"
        )


@pytest.mark.r_fixest
@pytest.mark.parametrize("scale", SCALES)
def test_project_equals_didimputation(didimputation: None, scale: float) -> None:
    """The bridge's call of did_imputation (every horizon, the pre-trend coefficients, the
    static ATT) against the project, term by term."""
    from rbridge.engines import result
    from rbridge.session import RSession

    panel = staggered_panel(scale)
    out = result(
        RSession(panel).call(
            "rb_imputation",
            "didimputation::did_imputation (test)",
            yname="resilience",
            gname="first_treat",
            tname="year",
            idname="city_code",
            term_prefix="event_time",
        )
    )
    terms = {(k, q): v for (k, q), v in out.table.items() if k.startswith("event_time::")}
    r = pd.DataFrame(
        {
            q: {int(k.split("::")[1]): v for (k, qq), v in terms.items() if qq == q}
            for q in ("estimate", "std_error")
        }
    ).sort_index()
    ours = project(panel)
    assert list(ours.index) == list(r.index)
    pre = ours.index < 0
    assert relative(ours["estimate"][pre], r["estimate"][pre], r["std_error"][pre]) < 1e-7
    assert relative(ours["std_error"][pre], r["std_error"][pre]) < 1e-7
    if scale == 1.0:
        # post-period: diff-diff's imputation demeans until an absolute change of 1e-10, so
        # on the scaled outcome it agrees with R only to ~2e-6 of the standard error
        post = ~pre
        assert relative(ours["estimate"][post], r["estimate"][post], r["std_error"][post]) < 1e-7
        assert relative(ours["std_error"][post], r["std_error"][post]) < 1e-7
        att = imputation(panel, "resilience")
        assert att.att == pytest.approx(out.get("ATT", "estimate"), rel=1e-7)
        assert att.att_se == pytest.approx(out.get("ATT", "std_error"), rel=1e-7)
