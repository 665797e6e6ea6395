"""Treatment assignment: the pilot zones under each convention of the literature."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from analysis.config import Config
from analysis.errors import InputError
from analysis.prepare.cities import study_cities
from analysis.prepare.treatment import add_treatment, cohorts_from_column, pilot_cohorts


def _in_sample(cfg: Config, **changes: object) -> pd.Series:
    cohorts = pilot_cohorts(replace(cfg.treatment, **changes))
    return cohorts.reindex(study_cities(cfg.sample)["admin_code"])


def test_default_cohorts(cfg: Config) -> None:
    c = _in_sample(cfg)
    assert (c == 2015).sum() == 6  # Guizhou's six cities (Bijie and Tongren included)
    assert (
        c == 2016
    ).sum() == 51  # BJ, TJ, Hebei 11, PRD 9, SH, Henan 17, CQ, Shenyang, Inner Mongolia 9
    assert (c == 0).sum() == 266 - 57
    assert c[520500] == 2015 and c[110100] == 2016 and c[210200] == 0 and c[440500] == 0


def test_alternative_conventions(cfg: Config) -> None:
    alt = _in_sample(cfg, guizhou_year=2016, second_batch_year=2017)
    assert set(alt[alt > 0].unique()) == {2016, 2017}
    assert (alt == 2016).sum() == 6
    gd = _in_sample(cfg, prd_scope="guangdong")
    assert (gd[gd.index // 10000 == 44] == 2016).sum() == 21
    ln = _in_sample(cfg, shenyang_scope="liaoning")
    assert (ln[ln.index // 10000 == 21] == 2016).sum() == 14


def test_treat_post_and_event_time() -> None:
    panel = pd.DataFrame({"city_code": [1, 1, 1, 2, 2, 2], "year": [2014, 2015, 2016] * 2})
    out = add_treatment(panel, pd.Series({1: 2015, 2: 0}))
    assert out["treat_post"].tolist() == [0, 1, 1, 0, 0, 0]
    assert out["rel_time"].tolist()[:3] == [-1, 0, 1]
    assert out["rel_time"].iloc[3:].isna().all()


def test_indicator_switching_off_is_rejected() -> None:
    panel = pd.DataFrame({"city_code": [7, 7, 7], "year": [2014, 2015, 2016], "cohort": [0, 1, 0]})
    with pytest.raises(InputError, match="switches treatment off for city 7 in 2016"):
        cohorts_from_column(panel, "cohort", "indicator", "f.csv")


def test_cohort_column_must_be_constant() -> None:
    panel = pd.DataFrame({"city_code": [7, 7], "year": [2014, 2015], "cohort": [2015, 2016]})
    with pytest.raises(InputError, match="varies within city 7"):
        cohorts_from_column(panel, "cohort", "column", "f.csv")
