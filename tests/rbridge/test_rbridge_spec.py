"""The bridge's reading of estimates.csv (no R needed): formulas, vcov and ssc texts taken
apart and checked, and the check matrix built from a run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import InputError
from rbridge.matrix import expected_models, full_sample
from rbridge.planners import plan
from rbridge.spec import (
    EventTerm,
    Formula,
    Subset,
    SunabTerm,
    Unsupported,
    parse_formula,
    parse_ssc,
    parse_subset,
    parse_vcov,
)

SSC = "K.adj=TRUE;K.fixef=nonnested;G.adj=TRUE;G.df=min;t.df=min;fixef.rm=none"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "resilience ~ treat_post | city_code + year",
            Formula("resilience", ("treat_post",), fixef=("city_code", "year")),
        ),
        (
            "resilience ~ i(event_time, ref = c(-1, -1000)) | city_code + year",
            Formula(
                "resilience",
                event=EventTerm("event_time", (-1, -1000)),
                fixef=("city_code", "year"),
            ),
        ),
        (
            "resilience ~ sunab(first_treat, year) | city_code + year",
            Formula(
                "resilience", sunab=SunabTerm("first_treat", "year"), fixef=("city_code", "year")
            ),
        ),
        (
            "tech_innovation ~ treat_post + treat_post:high_marketization + ln_gdp_pc | city_code + year",
            Formula(
                "tech_innovation",
                ("treat_post", "ln_gdp_pc"),
                (("treat_post", "high_marketization"),),
                fixef=("city_code", "year"),
            ),
        ),
        ("y ~ x", Formula("y", ("x",))),
        (
            "resilience ~ treat_post | city_code + province^year",
            Formula("resilience", ("treat_post",), fixef=("city_code", "province^year")),
        ),
    ],
)
def test_parse_formula(text: str, expected: Formula) -> None:
    assert parse_formula(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        'resilience ~ treat_post + system("touch /tmp/x") | city_code',  # code, not a name
        "resilience ~ log(treat_post) | city_code",  # transformations are not mirrored
        "resilience ~ treat_post | city_code^log(year)",  # a combination of non-names
        "resilience ~ treat_post | city_code | x ~ z",  # IV
        "resilience ~ i(event_time, ref = c(-1, a)) | city_code",  # non-integer reference
        "resilience ~ i(event_time, bin = 3) | city_code",  # other i() arguments
        "resilience ~ csw0(a, b) | city_code",
        "resilience ~ | city_code",  # no regressor: fixest would recurse without end
        "resilience ~ treat_post) | (city_code",
        "a ~ b ~ c",
    ],
)
def test_parse_formula_refuses_what_it_does_not_mirror(text: str) -> None:
    with pytest.raises(Unsupported):
        parse_formula(text)


def test_parse_vcov_and_ssc() -> None:
    assert parse_vcov("CRV1:city_code").cluster == "city_code"
    assert parse_vcov("hetero").cluster is None
    for bad in ("CRV3:city_code", "CRV1:city code", "CRV1:", "hetero:city_code"):
        with pytest.raises(Unsupported):
            parse_vcov(bad)
    ssc = parse_ssc(SSC)
    assert (ssc.K_adj, ssc.K_fixef, ssc.G_adj, ssc.G_df, ssc.t_df, ssc.fixef_rm) == (
        True,
        "nonnested",
        True,
        "min",
        "min",
        "none",
    )
    assert parse_ssc(SSC.replace("K.fixef=nonnested", "K.fixef=full")).K_fixef == "full"
    for bad in (
        SSC.replace(";fixef.rm=none", ""),  # a setting left to a default
        SSC + ";K.exact=TRUE",  # a setting the bridge does not pass
        SSC.replace("G.adj=TRUE", "G.adj=yes"),
        "none",
    ):
        with pytest.raises(Unsupported):
            parse_ssc(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("high_marketization == 1", Subset("high_marketization", (1,), "==")),
        ("first_treat != 2015", Subset("first_treat", (2015,), "!=")),
        (
            "city_code not in (110100, 120100, 310100, 500100)",
            Subset("city_code", (110100, 120100, 310100, 500100), "not in"),
        ),
        ("year not in (2020, 2021, 2022)", Subset("year", (2020, 2021, 2022), "not in")),
        ("year in (2015)", Subset("year", (2015,), "in")),
    ],
)
def test_parse_subset(text: str, expected: Subset) -> None:
    assert parse_subset(text) == expected


@pytest.mark.parametrize(
    "bad",
    [
        "high_marketization > 1",
        "x == 1; y == 2",
        "x == a",
        "year not in 2020, 2021",
        "year in ()",
        "year in (2020, x)",
        "year notin (2020)",
        "x == 1 or y == 2",
    ],
)
def test_parse_subset_refuses(bad: str) -> None:
    with pytest.raises(Unsupported):
        parse_subset(bad)


def _rows(
    model: str,
    formula: str,
    terms: list[str],
    sample: str,
    engine: str = "pyfixest",
    vcov: str = "CRV1:city_code",
    ssc: str = SSC,
    estimator: str = "twfe",
    **extra: str,
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": model,
            "estimator": estimator,
            **extra,
            "engine": engine,
            "outcome": "resilience",
            "term": terms,
            "estimate": 0.1,
            "std_error": 0.01,
            "n_obs": 100,
            "n_clusters": 10,
            "vcov": vcov,
            "ssc": ssc,
            "formula": formula,
            "sample": sample,
        }
    )


@pytest.fixture(scope="module")
def panel(default_run: Path) -> pd.DataFrame:
    return pd.read_csv(default_run / "analysis_panel.csv")


def test_matrix_of_the_default_run(default_run: Path, panel: pd.DataFrame) -> None:
    estimates = pd.read_csv(default_run / "estimates.csv")
    mechanisms, moderators = ["tech_innovation"], ["east_coastal"]
    plans = {p.model: p for p in plan(estimates, panel, mechanisms, moderators, "estimates.csv")}
    assert set(plans) == set(estimates["model"]) | set(expected_models(mechanisms, moderators))
    for model in ("did2s", "imputation"):
        assert plans[model].kind == model and not plans[model].skip, plans[model].skip
    es = plans["event_study"]
    assert es.kind == "regression" and not es.skip
    names = {c.name for c in es.checks}
    assert "event_study/event_time::-5/std_error" in names
    assert "event_study/joint_pre_F/statistic" in names
    assert {"event_study/n_obs", "event_study/n_clusters"} <= names
    assert plans["sunab"].kind == "regression" and not plans["sunab"].skip
    assert plans["sunab"].spec.formula.sunab == SunabTerm("first_treat", "year")  # type: ignore[union-attr]
    for model in ("cs_simple", "mechanism_tech_innovation", "hetero_east_coastal_1"):
        assert plans[model].skip == "not in this run"


CS = (
    "att_gt(yname='resilience', tname='year', idname='city_code', gname='first_treat', "
    "xformla=NULL, control_group='nevertreated', base_period='varying', est_method='dr', "
    "bstrap=FALSE, clustervars=NULL); aggte(type='simple')"
)


def test_matrix_skips_and_subsets(panel: pd.DataFrame) -> None:
    full = full_sample(panel)
    f = "resilience ~ treat_post | city_code + year"
    estimates = pd.concat(
        [
            _rows(
                "dml_other",
                "resilience ~ treat_post",
                ["treat_post"],
                full,
                engine="doubleml",
                estimator="dml_did:lasso",
            ),
            _rows("hetero_east_coastal_1", f, ["treat_post"], "east_coastal = 1: 80 cities"),
            _rows("robust_drop_2020", f, ["treat_post"], full),
            _rows(
                "cs_simple",
                CS,
                ["ATT"],
                full,
                engine="diff-diff",
                vcov="analytical",
                ssc="none",
                estimator="callaway_santanna",
                aggregation="simple",
                control_group="nevertreated",
                base_period="varying",
            ),
            _rows("bacon", f, ["2x2::2015_vs_never"], full, engine="diff-diff", estimator="bacon"),
        ]
    )
    plans = {p.model: p for p in plan(estimates, panel, [], ["east_coastal"], "e.csv")}
    assert plans["dml_other"].skip.startswith("no R mirror: R's DoubleML 1.0.2 has no diff")
    assert plans["bacon"].kind == "bacon" and plans["bacon"].checks[0].r_key == "2x2::2015_vs_never"
    assert "no machine-readable subset" in plans["hetero_east_coastal_1"].skip
    assert not plans["robust_drop_2020"].skip  # any full-sample pyfixest regression is checked
    assert plans["cs_simple"].kind == "did" and plans["cs_simple"].checks[0].r_key == "simple/ATT"
    with_subset = estimates.assign(subset="")
    with_subset.loc[with_subset["model"] == "hetero_east_coastal_1", "subset"] = "east_coastal == 1"
    plans = {p.model: p for p in plan(with_subset, panel, [], ["east_coastal"], "e.csv")}
    spec = plans["hetero_east_coastal_1"].spec
    assert not plans["hetero_east_coastal_1"].skip
    assert spec is not None and spec.subset.column == "east_coastal"


def test_unknown_column_is_an_input_error(panel: pd.DataFrame) -> None:
    estimates = _rows(
        "baseline_twfe",
        "resilience ~ treat_postt | city_code + year",
        ["treat_postt"],
        full_sample(panel),
    )
    with pytest.raises(InputError, match="treat_postt.*did you mean 'treat_post'"):
        plan(estimates, panel, [], [], "estimates.csv")


def test_a_panel_of_units_is_checked_like_one_of_cities(panel: pd.DataFrame) -> None:
    """A run whose units are not cities writes '<n> units, <years>' and permutes 'across
    units'; both are the full panel and are planned (they were skipped as subsamples)."""
    from rbridge.spec_inference import parse_placebo

    f = "resilience ~ treat_post | city_code + year"
    full = full_sample(panel, "units")
    assert full == full_sample(panel).replace(" cities, ", " units, ")
    plans = {
        p.model: p
        for p in plan(_rows("baseline_twfe", f, ["treat_post"], full), panel, [], [], "e.csv")
    }
    assert plans["baseline_twfe"].kind == "regression" and not plans["baseline_twfe"].skip
    placebo = parse_placebo(
        f, "randomization:permute first_treat across units,B=500", "none; seed 7"
    )
    assert placebo.n_perm == 500 and placebo.seed == 7
