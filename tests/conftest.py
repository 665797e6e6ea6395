"""Shared fixtures: the default configuration and small, fast analysis panels."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import settings

from analysis.config import DEFAULT_PANEL, Config, load_config
from analysis.pipeline import prepare
from analysis.prepare.loading import map_columns
from analysis.prepare.panel import build_panel
from analysis.simulation.dgp import DGP, simulate

REPO = Path(__file__).resolve().parents[1]


# Hypothesis profiles of the property tests (each example runs the command line): "thorough"
# (30 examples) for `make test` and CI, "fast" (8) for `make test-fast`; chosen by the
# HYPOTHESIS_PROFILE environment variable, thorough when it is not set. No deadline: an
# example is a whole command-line run.
settings.register_profile("thorough", max_examples=30, deadline=None)
settings.register_profile("fast", max_examples=8, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "thorough"))


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


# Small DML settings for tests that run the whole pipeline (the full specification takes
# minutes): a TOML fragment to append to their configuration files.
@pytest.fixture(scope="session")
def fast_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The golden run's fast configuration (tests/reference/golden/config.toml: every exhibit,
    small DML settings) run once per session as a user runs it, in its own process. The
    golden, determinism, staggered-suite and browser tests read this one run instead of
    each running the study."""
    from tests._regen import tool

    return Path(tool("golden").run_fast(tmp_path_factory.mktemp("fast") / "run"))


SMALL_DML_TOML = """
[dml]
learners = ["lasso", "linear", "stack"]
fe_handling = ["within"]
learner = "stack"
fe = "within"
robustness_folds = [2]
n_rep = 2
n_jobs = 1
did_learner = "linear"
did_n_rep = 1
bootstrap_reps = 99
"""


@dataclass(frozen=True)
class Simulated:
    """A simulated analysis panel, its truth and the configuration that built it."""

    panel: pd.DataFrame
    truth: dict[str, Any]
    cfg: Config


def simulated(dgp: DGP) -> Simulated:
    config = load_config()
    raw, truth = simulate(dgp, config)
    panel, _ = build_panel(map_columns(raw, config, "simulated"), config, "simulated")
    return Simulated(panel, truth, config)


@pytest.fixture(scope="session")
def sim_constant() -> Simulated:
    """Constant, homogeneous effects; no time trends in the mechanisms' untreated inputs,
    so parallel trends hold for the mechanisms too (SIMULATED DATA)."""
    return simulated(DGP(11, effect_shape="constant", heterogeneity=False, mechanism_trends=False))


@pytest.fixture(scope="session")
def sim_heterogeneous() -> Simulated:
    """Effects constant in time, heterogeneous across the moderators (SIMULATED DATA)."""
    return simulated(DGP(12, effect_shape="constant", heterogeneity=True))
