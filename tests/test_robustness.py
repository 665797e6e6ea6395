"""Robustness checks: each variant rebuilt independently (treatment timing, index
variants, province-by-year fixed effects by a brute-force dummy regression)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from analysis.config import DEFAULT_PANEL, load_config
from analysis.exhibit import Context
from analysis.exhibits import robustness as rb
from analysis.pipeline import prepare
from analysis.prepare.cities import pilot_zones, registry


def applied(result: rb.Variant | str) -> tuple[pd.DataFrame, str]:
    assert not isinstance(result, str), result
    return result.data, result.formula


@pytest.fixture(scope="module")
def ctx() -> Context:
    cfg = load_config()
    panel, _ = prepare(DEFAULT_PANEL, cfg)
    return Context(panel=panel, cfg=cfg)


def test_every_check_reports_treat_post(ctx: Context) -> None:
    out = rb.run(ctx)
    models = {e.model for e in out.estimates}
    assert models == {f"robust_{n}" for n in rb.CHECKS}
    assert all(e.term == "treat_post" and np.isfinite(e.std_error) for e in out.estimates)


def test_alternative_timing(ctx: Context) -> None:
    data, _ = applied(rb.timing(ctx))
    first = data.groupby("city_code")["first_treat"].first()
    zones = pilot_zones()
    guizhou = zones.loc[zones["batch"] == "first", "admin_code"]
    second = zones.loc[zones["batch"] == "second", "admin_code"]
    assert (first[first.index.isin(guizhou)] == 2016).all()
    assert (first[first.index.isin(second)] == 2017).all()
    assert set(first.unique()) == {0, 2016, 2017}
    assert (
        data["treat_post"] == ((data["first_treat"] > 0) & (data["year"] >= data["first_treat"]))
    ).all()


def test_no_winsorizing_reproduces_the_index(ctx: Context) -> None:
    from dataclasses import replace

    cfg = replace(ctx.cfg, robustness=replace(ctx.cfg.robustness, winsorize=(0.0, 1.0)))
    data, _ = applied(rb.winsorized(Context(panel=ctx.panel, cfg=cfg)))
    np.testing.assert_allclose(data["resilience"], ctx.panel["resilience"], atol=1e-12)
    clipped, _ = applied(rb.winsorized(ctx))
    assert not np.allclose(clipped["resilience"], ctx.panel["resilience"])


def test_equal_weights_and_pca_indices(ctx: Context) -> None:
    from sklearn.decomposition import PCA

    raw = pd.DataFrame({c.role: ctx.panel[f"raw_{c.role}"] for c in ctx.cfg.components})
    norm = (raw - raw.min()) / (raw.max() - raw.min())
    for c in ctx.cfg.components:
        if c.direction == "-":
            norm[c.role] = 1 - norm[c.role]
    data, _ = applied(rb.equal_weights(ctx))
    np.testing.assert_allclose(data["resilience"], norm.mean(axis=1), atol=1e-12)
    z = (norm - norm.mean()) / norm.std(ddof=0)
    score = PCA(n_components=1).fit_transform(z.to_numpy())[:, 0]
    pc, _ = applied(rb.pca(ctx))
    assert abs(np.corrcoef(score, pc["resilience"])[0, 1]) == pytest.approx(1.0, abs=1e-10)
    assert pc["resilience"].min() == 0 and pc["resilience"].max() == 1
    assert np.corrcoef(pc["resilience"], ctx.panel["resilience"])[0, 1] > 0


def test_province_year_fe_equals_dummy_regression(ctx: Context) -> None:
    from analysis.engines.pyfixest_adapter import feols

    data, formula = applied(rb.province_year_fe(ctx))
    reg = feols(data, formula, ctx.spec)
    prov = data["city_code"].map(registry().set_index("admin_code")["province_en"])
    dummies = pd.get_dummies(
        pd.DataFrame(
            {"c": data["city_code"].astype(str), "py": prov + "_" + data["year"].astype(str)}
        ),
        drop_first=True,
        dtype=float,
    )
    x = np.column_stack(
        [data["treat_post"].to_numpy(float), np.ones(len(data)), dummies.to_numpy()]
    )
    beta = np.linalg.lstsq(x, data["resilience"].to_numpy(), rcond=None)[0]
    assert reg.coef["treat_post"] == pytest.approx(beta[0], abs=1e-8)


def _years(ctx: Context, last: int, drop: tuple[int, ...] = (2020, 2021, 2022)) -> Context:
    cfg = replace(ctx.cfg, robustness=replace(ctx.cfg.robustness, drop_years=drop))
    return Context(panel=ctx.panel[ctx.panel["year"] <= last], cfg=cfg)


def test_drop_years_absent_from_the_panel_is_not_run_with_the_reason(ctx: Context) -> None:
    """A panel without the configured years (e.g. a 1964-1996 state panel): the check would
    repeat the baseline; it is not run, and the note and the not-run list say why."""
    out = rb.run(_years(ctx, 2019))
    models = {e.model for e in out.estimates}
    assert "robust_no_2020_2022" not in models and "robust_timing" in models
    reason = out.not_run["robust_no_2020_2022"]
    assert reason == (
        "none of [robustness] drop_years (2020, 2021, 2022) is a year of the panel "
        "(2009-2019): dropping them would repeat the baseline"
    )
    note = out.notes[rb.TABLE]
    assert f"no_2020_2022: skipped ({reason})" in note and "dropped years" not in note
    assert not out.tables[rb.TABLE].isin(["Without the dropped years"]).any().any()


def test_drop_years_partly_in_the_panel_drops_those_and_names_the_others(ctx: Context) -> None:
    out = rb.run(_years(ctx, 2020))
    row = next(e for e in out.estimates if e.model == "robust_no_2020_2022")
    assert row.subset == "year not in (2020)"
    assert row.n_obs == int((ctx.panel["year"] <= 2019).sum())
    note = out.notes[rb.TABLE]
    assert "dropped years [2020]" in note
    assert "2021, 2022 of [robustness] drop_years not in the panel (2009-2020): only 2020" in note
    assert "robust_no_2020_2022" not in out.not_run
