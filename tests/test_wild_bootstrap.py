"""The wild cluster bootstrap (analysis/estimators/wild_bootstrap.py):

- every draw's bootstrap t equals a brute-force dummy-variable regression refitted on the
  bootstrap sample (balanced and unbalanced panels, with controls, WCR and WCU, at r = 0 and
  r != 0), and so does the bootstrap Wald statistic (TOL: the same least squares);
- against R's fwildclusterboot 0.13 (tests/reference/wild_reference.csv, made by
  rbridge/R/wild_reference.R): with enumerated Rademacher draws (ten clusters, 2^10 draws,
  the same draws on both sides) p-values are equal and interval end points agree to
  ENDPOINT_TOL (both root finders run to 1e-12); with random draws on the full panel the mean
  over seeds agrees within Z_MAX Monte Carlo standard errors; a live test repeats the
  enumerated comparison where fwildclusterboot is installed;
- a seed gives byte-identical rows, and bad [wild_bootstrap] values are one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.estimators import wild_bootstrap as wb
from tests._config_errors import assert_one_line_refusal
from tests.conftest import REPO

TOL = 1e-10  # a draw's t: the same least squares, solved two ways
ENDPOINT_TOL = 1e-9  # interval end points with the same draws (both bisect to ~1e-12)
Z_MAX = 4.0  # random draws: |mean difference| in Monte Carlo SEs of the two means
PY_SEEDS = 4  # Python seeds of the random-draw comparison (R's reference has 20)
REFERENCE = REPO / "tests" / "reference" / "wild_reference.csv"
PANEL = REPO / "tests" / "reference" / "golden" / "analysis_panel.csv"
CONTROLS = ["ln_gdp_pc", "urbanization", "fiscal", "finance", "fdi_share", "human_capital"]
TIMES = [k for k in range(-5, 6) if k != -1]


def small_panel(seed: int, unbalanced: bool = False, n: int = 8, periods: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n), periods)
    year = np.tile(np.arange(2000, 2000 + periods), n)
    cohort = np.where(np.arange(n) < 3, 2003, np.where(np.arange(n) < 5, 2004, 0))[unit]
    d = ((cohort > 0) & (year >= cohort)).astype(float)
    x2 = rng.normal(size=n * periods)
    noise = rng.normal(size=n * periods) * (1 + unit % 3)
    y = rng.normal(size=n)[unit] + rng.normal(size=periods)[year - 2000] + 0.3 * d + 0.5 * x2
    frame = pd.DataFrame({"unit": unit, "year": year, "d": d, "x2": x2, "y": y + noise})
    pre = (cohort > 0) & (year == cohort - 2)
    frame["lead2"] = pre.astype(float)
    if unbalanced:
        frame = frame.drop(index=[3, 10, 11, 30]).reset_index(drop=True)
    return frame


def dummies(frame: pd.DataFrame, xs: list[str]) -> np.ndarray:
    fe = [
        pd.get_dummies(frame["unit"]).to_numpy(float),
        pd.get_dummies(frame["year"], drop_first=True).to_numpy(float),
    ]
    return np.hstack([frame[xs].to_numpy(float), *fe])


def _refits(
    frame: pd.DataFrame, X: np.ndarray, y: np.ndarray, inv: np.ndarray, u: np.ndarray, v: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each bootstrap sample (y - u + u x the draw of its unit's cluster, columns of v)
    refitted by OLS: coefficients and the unadjusted cluster-robust sandwich."""
    fit, cl = y - u, pd.factorize(frame["unit"], sort=True)[0]
    out = []
    for col in v.T:
        ys = fit + u * col[cl]
        b = inv @ X.T @ ys
        e = ys - X @ b
        scores = np.array([X[cl == g].T @ e[cl == g] for g in range(cl.max() + 1)])
        out.append((b, inv @ scores.T @ scores @ inv))
    return out


def brute_t(
    frame: pd.DataFrame, xs: list[str], j: int, v: np.ndarray, r: float, restricted: bool
) -> np.ndarray:
    """t of coefficient j on each bootstrap sample (columns of v), refitted with dummies."""
    X, y = dummies(frame, xs), frame["y"].to_numpy()
    inv = np.linalg.inv(X.T @ X)
    beta = inv @ X.T @ y
    if restricted:
        other = np.delete(X, j, axis=1)
        target = y - r * X[:, j]
        u = target - other @ np.linalg.lstsq(other, target, rcond=None)[0]
    else:
        u = y - X @ beta
    out = []
    for b, vcov in _refits(frame, X, y, inv, u, v):
        out.append((b[j] - (r if restricted else beta[j])) / np.sqrt(vcov[j, j]))
    return np.array(out)


def brute_wald(frame: pd.DataFrame, xs: list[str], cols: list[int], v: np.ndarray) -> np.ndarray:
    X, y = dummies(frame, xs), frame["y"].to_numpy()
    inv = np.linalg.inv(X.T @ X)
    other = np.delete(X, cols, axis=1)
    u = y - other @ np.linalg.lstsq(other, y, rcond=None)[0]
    out = []
    for b, vcov in _refits(frame, X, y, inv, u, v):
        var = vcov[np.ix_(cols, cols)]
        out.append(b[cols] @ np.linalg.solve(var, b[cols]) / len(cols))
    return np.array(out)


def design_of(frame: pd.DataFrame, xs: list[str]) -> wb.Design:
    unit = frame["unit"].to_numpy()
    return wb.design(frame["y"].to_numpy(), frame[xs].to_numpy(), xs, unit, frame["year"], unit)


@pytest.mark.parametrize("unbalanced", [False, True])
@pytest.mark.parametrize("xs", [["d"], ["d", "x2"]])
@pytest.mark.parametrize("restricted", [True, False])
def test_every_draw_equals_a_dummy_regression(
    unbalanced: bool, xs: list[str], restricted: bool
) -> None:
    frame = small_panel(1, unbalanced)
    d = design_of(frame, xs)
    draws = wb.draw("webb", d.n_clusters, 40, 3)
    v = np.column_stack([np.ones(d.n_clusters), draws.v])
    for r in (0.0, 0.7):
        inv = wb.inversion(d, "d", draws, restricted=restricted)
        t0, tb = inv.t(r * d.scale)
        expected = brute_t(frame, xs, 0, v, r, restricted)
        assert np.max(np.abs(tb - expected[1:])) < TOL
        if restricted:  # the original statistic is the draw v = 1 of the same algebra
            assert abs(t0 - expected[0]) < TOL


@pytest.mark.parametrize("unbalanced", [False, True])
def test_bootstrap_wald_equals_a_dummy_regression(unbalanced: bool) -> None:
    frame = small_panel(2, unbalanced)
    xs = ["d", "lead2", "x2"]
    d = design_of(frame, xs)
    draws = wb.draw("rademacher", d.n_clusters, 9999, None)  # 2^8 draws: enumerated
    assert draws.enumerated and draws.reps == 2**d.n_clusters
    res = wb.wald(d, ["d", "lead2"], draws)
    stats = brute_wald(frame, xs, [0, 1], np.column_stack([np.ones(d.n_clusters), draws.v]))
    assert res.statistic == pytest.approx(stats[0], rel=TOL)
    assert res.p_value == np.mean(stats[1:] - stats[0] > wb.TIE * stats[0])


def test_weights_rule_and_draws() -> None:
    assert wb.choose_weights("auto", 14, 9999) == "webb"  # 2^13 = 8192 < 9999
    assert wb.choose_weights("auto", 15, 9999) == "rademacher"
    assert wb.choose_weights("rademacher", 3, 9999) == "rademacher"
    enumerated = wb.draw("rademacher", 3, 9999, None)
    assert enumerated.enumerated and sorted(map(tuple, enumerated.v.T)) == sorted(
        {(a, b, c) for a in (-1.0, 1.0) for b in (-1.0, 1.0) for c in (-1.0, 1.0)}
    )
    webb = wb.draw("webb", 50, 2000, 0).v
    # blocks of a fixed size: any pass sees the same draws, whatever G x B
    big = wb.draw("rademacher", 1000, 5000, 1)
    assert big.block_size() < big.reps and np.array_equal(big.v, big.v)
    assert big.v.shape == (1000, 5000)
    assert set(np.round(np.unique(webb) ** 2, 12)) == {0.5, 1.0, 1.5}
    assert abs(webb.mean()) < 0.02 and abs((webb**2).mean() - 1) < 0.02


def _default_design(panel: pd.DataFrame, model: str) -> wb.Design:
    xs = {"baseline_twfe": ["treat_post"], "baseline_twfe_controls": ["treat_post", *CONTROLS]}
    names = xs.get(model, [f"event_time::{k}" for k in TIMES])
    data = panel.assign(**{f"event_time::{k}": (panel["event_time"] == k) * 1.0 for k in TIMES})
    return wb.design(
        data["resilience"].to_numpy(),
        data[names].to_numpy(float),
        names,
        data["city_code"].to_numpy(),
        data["year"].to_numpy(),
        data["city_code"].to_numpy(),
    )


@pytest.fixture(scope="module")
def reference() -> tuple[pd.DataFrame, dict[str, object], pd.DataFrame]:
    table = pd.read_csv(REFERENCE)
    sidecar = json.loads(REFERENCE.with_suffix(".json").read_text())
    return table, sidecar, pd.read_csv(PANEL)


def _enumerated_sample(panel: pd.DataFrame, sidecar: dict[str, object]) -> pd.DataFrame:
    sample = sidecar["enumerated_sample"]
    assert isinstance(sample, dict)
    keep = (panel["first_treat"] == sample["first_cohort"]) | panel["city_code"].isin(
        sample["never_treated"]
    )
    return panel[keep]


def _fwcb_ssc(d: wb.Design) -> float:
    """fwildclusterboot's default boot_ssc: (N-1)/(N-k) G/(G-1), k without fixed effects."""
    n, k = d.x.shape
    return (n - 1) / (n - k) * d.n_clusters / (d.n_clusters - 1)


def test_parity_with_fwildclusterboot_enumerated(
    reference: tuple[pd.DataFrame, dict[str, object], pd.DataFrame],
) -> None:
    import hashlib

    table, sidecar, panel = reference
    assert hashlib.sha256(PANEL.read_bytes()).hexdigest() == sidecar["panel_sha256"], (
        "the default panel changed: regenerate tests/reference/wild_reference.csv "
        "(rbridge/R/wild_reference.R)"
    )
    small = _enumerated_sample(panel, sidecar)
    rows = table[table["sample"] == "enumerated"]
    assert len(rows) == 2 * 4 * 2 + 10 * 4
    worst: dict[str, float] = {}
    for (model, term, kind), group in rows.groupby(
        ["model", "term", rows["quantity"].str.split(":").str[0]]
    ):
        d = _default_design(small, str(model))
        draws = wb.draw("rademacher", d.n_clusters, 9999, None)
        res = wb.bootstrap_test(d, str(term), draws, restricted=kind == "WCR", level=0.95)
        got = {
            "p_value": res.p_value,
            "conf_low": res.conf_low,
            "conf_high": res.conf_high,
            "t_stat": res.statistic / np.sqrt(_fwcb_ssc(d)),
        }
        for row in group.itertuples():
            q = str(row.quantity).split(":")[1]
            assert int(row.reps) == draws.reps == 1024
            diff = abs(got[q] - float(row.r_value))
            worst[q] = max(worst.get(q, 0.0), diff)
    assert worst["p_value"] == 0.0, worst
    assert max(worst["conf_low"], worst["conf_high"], worst["t_stat"]) < ENDPOINT_TOL, worst


def test_parity_with_fwildclusterboot_over_seeds(
    reference: tuple[pd.DataFrame, dict[str, object], pd.DataFrame],
) -> None:
    table, _, panel = reference
    rows = table[table["sample"] == "seeds"]
    for (model, term), group in rows.groupby(["model", "term"]):
        d = _default_design(panel, str(model))
        results = [
            wb.bootstrap_test(d, str(term), wb.draw("rademacher", d.n_clusters, 9999, s))
            for s in range(PY_SEEDS)
        ]
        for q in ("p_value", "conf_low", "conf_high"):
            values = np.array([getattr(r, q) for r in results])
            r_mean = float(group.loc[group["quantity"] == f"WCR:{q}:mean", "r_value"].iloc[0])
            r_sd = float(group.loc[group["quantity"] == f"WCR:{q}:sd", "r_value"].iloc[0])
            n_r = int(group["seeds"].iloc[0])
            se = np.sqrt(values.var(ddof=1) / PY_SEEDS + r_sd**2 / n_r)
            if se == 0:
                assert values.mean() == r_mean
            else:
                assert abs(values.mean() - r_mean) < Z_MAX * se, (model, term, q)


def _has_fwildclusterboot() -> str:
    try:
        out = subprocess.run(
            ["Rscript", "-e", "cat(as.character(packageVersion('fwildclusterboot')))"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "TZ": "UTC"},
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


@pytest.mark.r_fixest
def test_live_fwildclusterboot_enumerated(tmp_path: Path) -> None:
    """The committed reference's enumerated p-value and interval of the baseline, recomputed
    by the installed fwildclusterboot."""
    version = _has_fwildclusterboot()
    if not version:
        pytest.skip(
            "R's fwildclusterboot is not installed (R_LIBS); the committed reference "
            "tests/reference/wild_reference.csv is compared instead"
        )
    script = tmp_path / "live.R"
    script.write_text(
        "suppressPackageStartupMessages({library(fixest); library(fwildclusterboot)})\n"
        f"p <- read.csv('{PANEL}')\n"
        "never <- head(sort(unique(p$city_code[p$first_treat == 0])), 4)\n"
        "s <- p[p$first_treat == min(p$first_treat[p$first_treat > 0]) | "
        "p$city_code %in% never, ]\n"
        "o <- feols(resilience ~ treat_post | city_code + year, data = s, cluster = ~city_code,"
        " fixef.rm = 'none')\n"
        "r <- suppressWarnings(suppressMessages(boottest(o, param = 'treat_post', B = 9999L, "
        "clustid = 'city_code', type = 'rademacher', impose_null = TRUE, tol = 1e-12, "
        "maxiter = 1000, engine = 'R', nthreads = 1)))\n"
        "cat(sprintf('%.17g', c(r$p_val, r$conf_int)), sep = '\\n')\n"
    )
    out = subprocess.run(
        ["Rscript", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TZ": "UTC"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    p, low, high = (float(x) for x in out.stdout.split())
    panel = pd.read_csv(PANEL)
    sidecar = json.loads(REFERENCE.with_suffix(".json").read_text())
    d = _default_design(_enumerated_sample(panel, sidecar), "baseline_twfe")
    res = wb.bootstrap_test(d, "treat_post", wb.draw("rademacher", d.n_clusters, 9999, None))
    assert res.p_value == p
    assert abs(res.conf_low - low) < ENDPOINT_TOL and abs(res.conf_high - high) < ENDPOINT_TOL


def test_bad_configuration_is_one_line(tmp_path: Path) -> None:
    for text, words in (
        (
            '[wild_bootstrap]\nweights = "mammen"\n',
            ["[wild_bootstrap] weights", "'auto', 'rademacher', 'webb'"],
        ),
        ("[wild_bootstrap]\nreps = 10\n", ["[wild_bootstrap] reps = 10", "at least 99"]),
        ("[wild_bootstrap]\nrestricted = 1\n", ["[wild_bootstrap] restricted", "bool"]),
    ):
        assert_one_line_refusal(tmp_path, text, words)


def test_a_seed_gives_identical_rows(cfg) -> None:  # type: ignore[no-untyped-def]
    """The baseline's bootstrap rows twice with one seed: identical; another seed moves the
    interval (random draws), not the estimate."""
    from dataclasses import replace

    from analysis.catalogue import exhibit
    from analysis.estimates import to_frame
    from analysis.exhibit import Context

    panel = pd.read_csv(PANEL)

    def rows(seed: int) -> pd.DataFrame:
        out = exhibit("baseline").produce(Context(panel, replace(cfg, seed=seed)))
        frame = to_frame(out.estimates)
        return frame[frame["model"].str.endswith("_wild")].reset_index(drop=True)

    first, again, other = rows(7), rows(7), rows(8)
    assert len(first) == 2 and (first["vcov"] == "WCR-rademacher:city_code B=9999").all()
    assert first.to_csv(index=False) == again.to_csv(index=False)
    assert (first["estimate"] == other["estimate"]).all()
    assert (first["conf_low"] != other["conf_low"]).any()
    assert "seed 7" in first["ssc"].iloc[0] and "seed 8" in other["ssc"].iloc[0]


def test_rows_of_an_interaction_term(cfg) -> None:  # type: ignore[no-untyped-def]
    """The heterogeneity interaction's bootstrap (a regressor built from two columns): the
    row's estimate and statistic are the analytical fit's, the interval holds the estimate,
    and the p-value equals the estimator's own on the same design."""
    from analysis.engines import pyfixest_adapter as fx
    from analysis.exhibit import Context
    from analysis.models import wild

    panel = pd.read_csv(PANEL)
    ctx = Context(panel, cfg)
    term = "treat_post:east_coastal"
    reg = fx.feols(panel, f"resilience ~ treat_post + {term} | city_code + year", ctx.spec)
    data = panel.assign(**{term: panel["treat_post"] * panel["east_coastal"]})
    base = fx.info(reg, "t", "hetero_east_coastal_interaction", "twfe", ctx.sample)
    (row,) = wild.coefficient_rows(ctx, reg, data, list(reg.coef.index), base, [term])
    assert row.model == "hetero_east_coastal_interaction_wild" and row.term == term
    assert row.estimate == float(reg.coef[term])
    assert row.statistic == pytest.approx(float(reg.coef[term] / reg.se[term]), rel=1e-12)
    assert row.conf_low < row.estimate < row.conf_high
    d = wild.design(ctx, reg, data, list(reg.coef.index), list(reg.coef.index))
    assert d.beta[d.column(term)] / d.scale == pytest.approx(row.estimate, rel=1e-9)
    expected = wb.bootstrap_test(d, term, wild.draws(ctx, d.n_clusters)).p_value
    assert row.p_value == expected


def test_the_notes_say_which_p_value_to_read(cfg) -> None:  # type: ignore[no-untyped-def]
    """Six treated cities in 2015: read the bootstrap; three: read randomization; 51: no
    sentence."""
    from analysis.exhibit import Context
    from analysis.models import wild

    panel = pd.read_csv(PANEL)
    six = wild.few_treated_note(Context(panel, cfg), "A", "B")
    assert "cohort 2015 (6 clusters), fewer than 10" in six and six.endswith("read A.")
    guizhou = sorted(panel.loc[panel["first_treat"] == 2015, "city_code"].unique())
    three = panel["city_code"].isin(guizhou[:3])
    fewer = panel.assign(first_treat=panel["first_treat"].where(~three, 0))
    note = wild.few_treated_note(Context(fewer, cfg), "A", "B")
    assert "cohort 2015 (3 clusters), fewer than 5" in note and note.endswith("read B.")
    later = panel.assign(first_treat=panel["first_treat"].replace(2015, 2016))
    assert wild.few_treated_note(Context(later, cfg), "A", "B") == ""


def test_event_study_without_never_treated_units(cfg) -> None:  # type: ignore[no-untyped-def]
    """Six clusters, none never treated (tests/test_properties.py's mutation): some draws'
    bootstrap variance of the four pre-period coefficients is singular, and the joint test
    still has its p-value; the bootstrap rows are the fit's terms (a fit may drop one)."""
    from analysis.catalogue import exhibit
    from analysis.exhibit import Context

    panel = pd.read_csv(PANEL)
    # two Guizhou cities (2015) and four of 2016, as tests/test_properties.py's mutation
    cities = [520100, 520300, 110100, 120100, 440100, 440300]
    treated = panel[panel["city_code"].isin(cities)].reset_index(drop=True)
    assert (treated["first_treat"] > 0).all()
    out = exhibit("event_study").run(Context(treated, cfg))
    fit = {e.term for e in out.estimates if e.model == "event_study"}
    boot = {e.term for e in out.estimates if e.model == "event_study_wild"}
    assert boot == fit
    joint = next(e for e in out.estimates if e.model == "event_study_wild" and "F" in e.term)
    assert 0 <= joint.p_value <= 1
