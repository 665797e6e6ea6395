"""The city registry (`data/cities.csv`, derived from the China Urban Research Entity
Crosswalk by `tools/build_registry.py`; see `data/CITIES.md`) and the study sample."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from analysis.config import DATA_DIR, SampleConfig

REGISTRY_FILE = DATA_DIR / "cities.csv"
PILOT_FILE = DATA_DIR / "pilot_zones.csv"


@lru_cache(maxsize=1)
def _read_registry() -> pd.DataFrame:
    return pd.read_csv(REGISTRY_FILE, dtype={"admin_code": "int64", "sample_note": "str"}).fillna(
        {"sample_note": ""}
    )


def registry() -> pd.DataFrame:
    """All units prefecture-level in any year 2009-2022, one row each (a copy); the four
    that are so for part of the period have first_year > 2009 or last_year < 2022."""
    return _read_registry().copy()


def study_cities(sample: SampleConfig) -> pd.DataFrame:
    """The registry rows of the study sample under a sample configuration.

    "all" keeps its meaning from before the registry listed partial units: the units
    prefecture-level in every registry year (2009-2022), not Chaohu, Laiwu, Sansha and
    Danzhou."""
    reg = registry()
    reg = reg[
        (reg["first_year"] == reg["first_year"].min())
        & (reg["last_year"] == reg["last_year"].max())
    ]
    if sample.cities == "registry":
        reg = reg[reg["in_study_sample"] == 1]
    if sample.exclude_provinces:
        names = set(sample.exclude_provinces)
        reg = reg[~(reg["province_en"].isin(names) | reg["province_zh"].isin(names))]
    if sample.drop_municipalities:
        reg = reg[reg["municipality"] == 0]
    return reg.reset_index(drop=True)


@lru_cache(maxsize=1)
def _read_pilots() -> pd.DataFrame:
    return pd.read_csv(PILOT_FILE, dtype={"admin_code": "int64", "note": "str"}).fillna(
        {"note": ""}
    )


def pilot_zones() -> pd.DataFrame:
    """The cities named in the pilot zones' approvals (a copy of `data/pilot_zones.csv`)."""
    return _read_pilots().copy()
