"""The user's own variables: the [variables] grammar (parsed, never evaluated), names resolved
to safe panel columns, values computed as the definitions say (checked by hand on a small
panel), and the faults each named in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import load_config
from analysis.config.expressions import Call, ExpressionError, Num, Ref, parse, references
from analysis.errors import InputError
from analysis.pipeline import prepare

BASE = """
[panel]
first_year = 2001
last_year = 2008
units = "any"

[columns]
city = "unit"
year = "year"

[outcome]
column = "y"

[components]

[inputs]

[treatment]
source = "column"
cohort_column = "cohort"

[sample]
cities = "all"
"""


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(BASE + extra, encoding="utf-8")
    return path


def _panel(tmp_path: Path, n: int = 12) -> Path:
    rng = np.random.default_rng(3)
    years = np.arange(2001, 2009)
    cohort = np.where(np.arange(n) % 3 == 0, 2005, 0)
    frame = pd.DataFrame(
        {
            "unit": np.repeat([f"u{i:02d}" for i in range(n)], len(years)),
            "year": np.tile(years, n),
            "cohort": np.repeat(cohort, len(years)),
            "y": rng.normal(size=n * len(years)),
            "人口": rng.uniform(10, 20, n * len(years)),
            "面积 km2": rng.uniform(1, 5, n * len(years)),
            "deposits": rng.uniform(1, 3, n * len(years)),
            "coastal": np.repeat(np.arange(n) % 2, len(years)),
        }
    )
    path = tmp_path / "p.csv"
    frame.to_csv(path, index=False)
    return path


def test_grammar_parses_calls_names_quoted_headers_and_numbers() -> None:
    tree = parse('log(ratio("人口", product(area, 100)))')
    assert isinstance(tree, Call) and tree.function == "log"
    inner = tree.args[0]
    assert isinstance(inner, Call) and inner.function == "ratio"
    assert [r.name for r in references(tree)] == ["人口", "area"]
    assert isinstance(inner.args[1], Call) and inner.args[1].args[1] == Num(100.0, 31)
    assert parse('column("GDP")') == Ref("GDP", 1, quoted=True, column=True)


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("log(x", 6, "expected ',' or ')'"),
        ("exp(x)", 1, "unknown function 'exp'"),
        ("ratio(a)", 1, "ratio() takes 2 argument(s), got 1"),
        ('log("x)', 5, "not closed"),
        ("log(x) + 1", 8, "after a complete expression"),
        ("log(above_median(x))", 5, "a unit's flag"),
        ("above_median(x, y)", 1, "the year must be a number"),
        ("column(x)", 1, "quoted header"),
        ("", 1, "found the end"),
        ("__import__('os')", 1, "unknown function '__import__'"),
        ("log(x; y)", 6, "found ';'"),
    ],
)
def test_grammar_names_the_position_of_a_fault(text: str, position: int, words: str) -> None:
    with pytest.raises(ExpressionError) as err:
        parse(text)
    assert err.value.position == position
    assert words in str(err.value)


def test_config_error_names_the_variable_and_the_position(tmp_path: Path) -> None:
    path = _config(tmp_path, "[variables]\ndensity = 'ratio(\"人口\", )'\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    message = str(err.value)
    assert "[variables] density" in message and "position 13" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("variables", "words"),
    [
        ('a = "log(b)"\nb = "log(x)"', "'b' is declared after it"),
        ('a = "lag(a)"', "refers to itself"),
        ('ln_gdp_pc = "log(x)"', "taken by the study's own variable"),
        ('"my var" = "log(x)"', "letters, digits and underscores"),
        ("a = 3", "must be an expression in quotes"),
    ],
)
def test_bad_declarations_are_one_line_errors(tmp_path: Path, variables: str, words: str) -> None:
    with pytest.raises(InputError, match=words):
        load_config(_config(tmp_path, f"[variables]\n{variables}\n"))


def test_headers_that_are_not_plain_names_get_internal_names(tmp_path: Path) -> None:
    cfg = load_config(
        _config(
            tmp_path,
            '[variables]\ndensity = \'ratio("人口", "面积 km2")\'\n'
            '[model]\ncontrols = ["density", "deposits", "人口", "treat_post"]\n'
            'mechanisms = []\nmoderators = ["coastal"]\n',
        )
    )
    assert cfg.model.controls == ("density", "deposits", "col_1", "col_3")
    assert cfg.user_columns == {
        "col_1": "人口",
        "col_2": "面积 km2",
        "deposits": "deposits",
        "col_3": "treat_post",
        "coastal": "coastal",
    }
    assert cfg.label("col_2") == "面积 km2" and cfg.label("density") == "density"
    assert cfg.variables[0].reads == ("col_1", "col_2")


def test_a_name_that_is_nowhere_is_an_error_naming_the_list(tmp_path: Path) -> None:
    cfg = _config(tmp_path, '[model]\ncontrols = ["depostis"]\nmechanisms = []\nmoderators = []\n')
    with pytest.raises(InputError) as err:
        prepare(_panel(tmp_path), load_config(cfg))
    message = str(err.value)
    assert "[model] controls names 'depostis'" in message and "did you mean 'deposits'" in message


def test_values_follow_the_definitions(tmp_path: Path) -> None:
    """Each function against a hand computation on the raw file."""
    cfg = load_config(
        _config(
            tmp_path,
            "[variables]\n"
            'density = \'ratio("人口", "面积 km2")\'\n'
            'ln_dep = "log(deposits)"\n'
            'dep_lag = "lag(deposits)"\n'
            "pop_share = 'share(\"人口\", deposits)'\n"
            'gap = "difference(deposits, product(density, 0.5))"\n'
            'big = "above_median(deposits)"\n'
            'big_2002 = "above_median(deposits, 2002)"\n'
            '[model]\ncontrols = ["density", "ln_dep", "pop_share", "gap"]\n'
            'mechanisms = ["dep_lag"]\nmoderators = ["big", "big_2002", "coastal"]\n',
        )
    )
    data = _panel(tmp_path)
    raw = pd.read_csv(data).sort_values(["unit", "year"]).reset_index(drop=True)
    panel, info = prepare(data, cfg)
    assert info.dropped_by_variable == {"dep_lag": 12}  # the lag's first year of 12 units
    kept = raw[raw["year"] > 2001].reset_index(drop=True)
    np.testing.assert_allclose(panel["density"], kept["人口"] / kept["面积 km2"], rtol=1e-6)
    np.testing.assert_allclose(panel["ln_dep"], np.log(kept["deposits"]), rtol=1e-6)
    share = kept["人口"] / (kept["人口"] + kept["deposits"])
    np.testing.assert_allclose(panel["pop_share"], share, rtol=1e-6)
    gap = kept["deposits"] - 0.5 * kept["人口"] / kept["面积 km2"]
    np.testing.assert_allclose(panel["gap"], gap, rtol=1e-6)
    lagged = raw.groupby("unit")["deposits"].shift(1)[raw["year"] > 2001].to_numpy()
    np.testing.assert_allclose(panel["dep_lag"], lagged, rtol=1e-6)
    # above_median(x): mean before the first treated year (2005) above the median unit's
    pre = raw[(raw["year"] < 2005) & (raw["year"] > 2001)].groupby("unit")["deposits"].mean()
    expected = (pre > pre.median()).astype(float)
    got = panel.groupby("unit_id")["big"].first()
    pd.testing.assert_series_equal(got, expected, check_names=False)
    in_2002 = raw[raw["year"] == 2002].set_index("unit")["deposits"]
    got_2002 = panel.groupby("unit_id")["big_2002"].first()
    pd.testing.assert_series_equal(
        got_2002, (in_2002 > in_2002.median()).astype(float), check_names=False
    )
    assert set(panel["coastal"]) == {0, 1} and not info.moderator_problems


def test_domain_faults_name_the_variable_the_unit_and_the_year(tmp_path: Path) -> None:
    cfg = load_config(
        _config(
            tmp_path,
            '[variables]\nbad = "log(difference(deposits, deposits))"\n'
            '[model]\ncontrols = ["bad"]\nmechanisms = []\nmoderators = []\n',
        )
    )
    with pytest.raises(InputError) as err:
        prepare(_panel(tmp_path), cfg)
    assert "[variables] bad: log of 0 (unit 1 in 2001)" in str(err.value)


def test_a_moderator_that_is_not_a_unit_flag_is_not_used_with_the_reason(tmp_path: Path) -> None:
    cfg = load_config(
        _config(tmp_path, '[model]\ncontrols = []\nmechanisms = []\nmoderators = ["deposits"]\n')
    )
    _, info = prepare(_panel(tmp_path), cfg)
    assert "is not a 0/1 flag" in info.moderator_problems["deposits"]
    assert "above_median(deposits)" in info.moderator_problems["deposits"]
