"""Fixtures of the R bridge tests: a small finished run (the fast exhibits only) and what
R offers here. Tests that need R skip with the reason detect() gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.catalogue import exhibits as catalogue
from analysis.config import DEFAULT_PANEL, load_config
from analysis.estimates import to_frame
from analysis.exhibit import Context
from analysis.pipeline import prepare
from analysis.precision import write_csv
from rbridge.engines import ENGINES
from rbridge.session import RInfo, detect

EXHIBITS = ("baseline", "event_study", "event_study_estimators")


def write_run(folder: Path, exhibits: tuple[str, ...] = EXHIBITS) -> Path:
    """A run folder as `python -m analysis run` writes it, with only the named exhibits
    (so the tests stay fast whatever slow exhibits the study gains)."""
    cfg = load_config()
    panel, _ = prepare(DEFAULT_PANEL, cfg)
    ctx = Context(panel=panel, cfg=cfg)
    estimates = []
    for ex in catalogue():
        if ex.id in exhibits:
            estimates += ex.run(ctx).estimates
    folder.mkdir(parents=True)
    write_csv(to_frame(estimates), folder / "estimates.csv")
    write_csv(panel, folder / "analysis_panel.csv")  # byte for byte as a run writes it
    manifest = {"config": cfg.to_dict(), "seed": cfg.seed}
    (folder / "manifest.json").write_text(json.dumps(manifest, default=str), encoding="utf-8")
    (folder / "run.log").write_text("", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("rbridge") / "run")


@pytest.fixture
def run_dir(default_run: Path, tmp_path: Path) -> Path:
    """A private copy of the default run, free to modify."""
    return Path(shutil.copytree(default_run, tmp_path / "run"))


@pytest.fixture(scope="session")
def r_info() -> RInfo:
    return detect()


def _need(info: RInfo, engine: str) -> None:
    problem = ENGINES[engine].unavailable(info)
    if problem:
        pytest.skip(f"needs the {engine} engine: {problem}")


@pytest.fixture
def base_r(r_info: RInfo) -> RInfo:
    """Skip unless R, rpy2 and sandwich run here (Debian's R is enough)."""
    _need(r_info, "base-r")
    return r_info


@pytest.fixture
def fixest_r(r_info: RInfo) -> RInfo:
    """Skip unless fixest runs here (e.g. R_LIBS pointing at a library with fixest)."""
    _need(r_info, "fixest")
    return r_info


@pytest.fixture
def did_r(r_info: RInfo) -> RInfo:
    _need(r_info, "did")
    return r_info


def sun_abraham(panel: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Sun and Abraham by brute force, as a reference: one dummy per treated cohort x
    relative period (period -1 left out; never-treated cities in the control group) in a
    TWFE regression with pyfixest, then each relative period's coefficient as the average
    over cohorts weighted by their observations in it, and 'ATT' likewise over periods >= 0.
    Standard errors treat the weights as fixed: sqrt(w' V w)."""
    import pyfixest as pf

    treated = panel["first_treat"] > 0
    rel = (panel["year"] - panel["first_treat"]).where(treated)
    cells = sorted(
        {
            (int(g), int(k))
            for g, k in zip(panel.loc[treated, "first_treat"], rel[treated], strict=True)
            if k != -1
        }
    )
    name = {c: f"sa_{c[0]}_{c[1]}".replace("-", "m") for c in cells}
    dummies = {
        name[(g, k)]: ((panel["first_treat"] == g) & (rel == k)).astype(float) for g, k in cells
    }
    fit = pf.feols(
        f"resilience ~ {' + '.join(dummies)} | city_code + year",
        data=panel.assign(**dummies),
        vcov={"CRV1": "city_code"},
        fixef_rm="none",
        ssc=pf.ssc(k_adj=True, k_fixef="nonnested", G_adj=True, G_df="min"),
    )
    b = fit.coef()
    v = pd.DataFrame(fit._vcov, index=b.index, columns=b.index)

    def average(selected: list[tuple[int, int]]) -> tuple[float, float]:
        cols = [name[c] for c in selected]
        w = np.array([dummies[c].sum() for c in cols])
        w = w / w.sum()
        return float(w @ b[cols]), float(np.sqrt(w @ v.loc[cols, cols].to_numpy() @ w))

    out = {
        f"event_time::{k}": average([c for c in cells if c[1] == k])
        for k in sorted({k for _, k in cells})
    }
    out["ATT"] = average([c for c in cells if c[1] >= 0])
    return out


@pytest.fixture(scope="session")
def manual_sunab(default_run: Path) -> dict[str, tuple[float, float]]:
    return sun_abraham(pd.read_csv(default_run / "analysis_panel.csv"))
