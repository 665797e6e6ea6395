"""Index formulas against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.prepare.indices import entropy_fit, entropy_index, normalize, theil


def test_minmax_with_direction() -> None:
    x = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 15.0]])
    z = normalize(x, ("+", "-"), x.min(axis=0), x.max(axis=0))
    assert z.tolist() == [[0.0, 1.0], [0.5, 0.0], [1.0, 0.5]]


def test_entropy_weights_by_hand() -> None:
    # Three observations. Column a normalizes to (0, 0.5, 1), column b (negative) to (1, 0, 0.5).
    # With shift s the shares of a are (s, .5+s, 1+s)/(1.5+3s); b has the same values in another
    # order, so both have the same entropy and the weights are 1/2 each.
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [10.0, 20.0, 15.0]})
    s = 1e-4
    fit = entropy_fit(frame, ("+", "-"), shift=s)
    total = 1.5 + 3 * s
    p = [s / total, (0.5 + s) / total, (1 + s) / total]
    e = -sum(q * math.log(q) for q in p) / math.log(3)
    assert fit.entropy[0] == pytest.approx(e, abs=1e-15)
    assert fit.entropy[1] == pytest.approx(e, abs=1e-15)
    assert fit.weights == pytest.approx((0.5, 0.5), abs=1e-15)
    index, _ = entropy_index(frame, ("+", "-"), shift=s)
    assert index.tolist() == pytest.approx([0.5, 0.25, 0.75], abs=1e-15)


def test_entropy_weights_favour_dispersed_indicator() -> None:
    # Column a is spread evenly (high entropy, low weight); column b is concentrated in one
    # observation (low entropy, high weight).
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 0.0, 0.0, 1.0]})
    s = 1e-4
    fit = entropy_fit(frame, ("+", "+"), shift=s)
    pa = [(v + s) / (2 + 4 * s) for v in (0, 1 / 3, 2 / 3, 1)]
    pb = [(v + s) / (1 + 4 * s) for v in (0, 0, 0, 1)]
    d = [1 + sum(q * math.log(q) for q in p) / math.log(4) for p in (pa, pb)]
    assert fit.weights == pytest.approx((d[0] / sum(d), d[1] / sum(d)), abs=1e-14)
    assert fit.weights[1] > 0.75 > fit.weights[0]


def test_per_year_weights_use_each_year_alone() -> None:
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 5.0, 5.0, 9.0], "b": [3.0, 1.0, 2.0, 1.0, 2.0, 3.0]})
    year = pd.Series([2010, 2010, 2010, 2011, 2011, 2011])
    index, fits = entropy_index(frame, ("+", "+"), by=year)
    assert sorted(fits) == ["2010", "2011"]
    alone, _ = entropy_index(frame.iloc[3:].reset_index(drop=True), ("+", "+"))
    assert index[3:] == pytest.approx(alone, abs=1e-15)


def test_constant_indicator_is_an_error() -> None:
    with pytest.raises(ValueError, match="constant"):
        entropy_fit(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 3.0]}), ("+", "+"))


def test_theil_by_hand() -> None:
    va = np.array([[10.0, 30.0, 60.0], [20.0, 30.0, 50.0]])
    emp = np.array([[20.0, 30.0, 50.0], [20.0, 30.0, 50.0]])
    # Row 1: Y = L = 100; TL = .1 ln(.5) + .3 ln(1) + .6 ln(1.2). Row 2: equal productivity -> 0.
    expected = 0.1 * math.log(0.5) + 0.6 * math.log(1.2)
    assert theil(va, emp) == pytest.approx([expected, 0.0], abs=1e-15)
    assert expected == pytest.approx(0.0400782, abs=1e-7)


def test_theil_rejects_nonpositive() -> None:
    with pytest.raises(ValueError, match="positive"):
        theil(np.array([[0.0, 1.0, 1.0]]), np.array([[1.0, 1.0, 1.0]]))


def test_study_variables_by_hand() -> None:
    from analysis.prepare.variables import CONTROLS

    raw = pd.DataFrame(
        {
            "gdp": [500.0],
            "population": [250.0],
            "urban_population": [150.0],
            "fiscal_expenditure": [75.0],
            "loans": [600.0],
            "fdi": [10.0],
            "college_students": [5.0],
        }
    )
    got = {name: float(np.asarray(make(raw))[0]) for name, make in CONTROLS.items()}
    # GDP 500 (100m yuan) over 250 (10k persons) = 20,000 yuan per person.
    assert got["ln_gdp_pc"] == pytest.approx(math.log(20000.0), abs=1e-12)
    assert got == pytest.approx(
        {
            "ln_gdp_pc": math.log(20000.0),
            "urbanization": 0.6,
            "fiscal": 0.15,
            "finance": 1.2,
            "fdi_share": 0.02,
            "human_capital": 2.0,
        },
        abs=1e-12,
    )
