"""Shared fixtures: the default configuration and small, fast analysis panels."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.config import DEFAULT_PANEL, Config, load_config
from analysis.pipeline import prepare

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def cfg() -> Config:
    return load_config()


@pytest.fixture(scope="session")
def default_panel(cfg: Config) -> pd.DataFrame:
    """The analysis panel of the embedded default (simulated) data."""
    panel, _ = prepare(DEFAULT_PANEL, cfg)
    return panel


@pytest.fixture(scope="session")
def raw_default() -> pd.DataFrame:
    """The embedded default raw panel as text cells, as a user's CSV would be read."""
    return pd.read_csv(DEFAULT_PANEL, dtype=str, keep_default_na=False)
