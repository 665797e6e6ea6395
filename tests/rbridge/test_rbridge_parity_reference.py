"""The Python estimates against every R mirror of the cross-check, without R:
tests/reference/parity_reference.csv holds R's values of each check on the default run (did2s,
didimputation, bacondecomp, did with covariates and the calendar aggregation, the placebo
replayed through fixest, HonestDiD, DoubleML with OLS learners on the project's folds, the
robustness subsets and province^year, ...), written by rbridge/R/parity_reference.R from the
run's replicate.R, with R's and the packages' versions and the panel's sha256 in the sidecar
parity_reference.json. Each Python value is compared with the committed R value within the
tolerance of rbridge/tolerances.py; a stale reference (other panel or specification) fails
with the command that regenerates it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rbridge.engines import ENGINES, PREFERENCE, Engine
from rbridge.inputs import attach_columns, dml_reference
from rbridge.matrix import ModelPlan
from rbridge.planners import plan
from rbridge.spec_inference import parse_dml
from rbridge.tolerances import tolerance
from tests.rbridge.conftest import write_run

REFERENCE = Path(__file__).resolve().parents[1] / "reference" / "parity_reference.csv"
SIDECAR = REFERENCE.with_suffix(".json")
REGENERATE = (
    "regenerate it: python -m analysis run --out output && python -m analysis export-r output "
    "&& TZ=UTC R_LIBS=<library with the bridge's R packages> Rscript "
    "rbridge/R/parity_reference.R output tests/reference/parity_reference.csv"
)
EXHIBITS = (
    "baseline",
    "event_study",
    "callaway_santanna",
    "event_study_estimators",
    "placebo",
    "twfe_diagnostics",
    "honest_did",
    "robustness",
)
# Models whose R mirror is new in issue 14: the reference must cover each.
NEW = (
    "did2s",
    "imputation",
    "bacon",
    "placebo",
    "honest_rm",
    "honest_rm_conditional",
    "honest_sd",
    "cs_simple_dr_cov",
    "cs_attgt_reg_cov",
    "cs_attgt_ipw_cov",
    "cs_calendar",
    "cs_calendar_notyet_universal",
    "robust_no_first_cohort",
    "robust_no_municipalities",
    "robust_no_2020_2022",
    "robust_province_year_fe",
    "dml_plr[linear]",
)

# One xdist worker runs this module, so that its run (module fixtures) is made once.
pytestmark = pytest.mark.xdist_group("parity_reference")


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(REFERENCE, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def sidecar() -> dict:  # type: ignore[type-arg]
    return json.loads(SIDECAR.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def parity_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("parity") / "run", EXHIBITS)


@pytest.fixture(scope="module")
def plans(parity_run: Path) -> list[ModelPlan]:
    from analysis.config import load_config

    cfg = load_config()
    estimates = pd.read_csv(parity_run / "estimates.csv", keep_default_na=False, na_values=[""])
    panel = attach_columns(pd.read_csv(parity_run / "analysis_panel.csv"))
    return plan(
        estimates,
        panel,
        list(cfg.model.mechanisms),
        list(cfg.model.moderators),
        "e.csv",
        cfg.seed,
        cfg.inference.level,
    )


def test_reference_is_for_the_current_default_panel(sidecar: dict, parity_run: Path) -> None:  # type: ignore[type-arg]
    digest = hashlib.sha256((parity_run / "analysis_panel.csv").read_bytes()).hexdigest()
    assert sidecar["panel_sha256"] == digest, f"{REFERENCE.name} is stale: {REGENERATE}"
    for package in (
        "fixest",
        "did",
        "did2s",
        "didimputation",
        "bacondecomp",
        "HonestDiD",
        "DoubleML",
    ):
        assert sidecar["packages"][package], package


def test_reference_covers_every_new_mirror(reference: pd.DataFrame) -> None:
    models = set(reference["model"])
    missing = [m for m in NEW if m not in models]
    assert not missing, f"{REFERENCE.name} lacks {missing}: {REGENERATE}"
    # did >= 2.5 gives the project's overall SE of the group aggregation
    assert "cs_group/overall/std_error" in set(reference["check"])


def test_specifications_unchanged(plans: list[ModelPlan], parity_run: Path, sidecar: dict) -> None:  # type: ignore[type-arg]
    """The texts that define each specification are those the reference was made from."""
    estimates = pd.read_csv(parity_run / "estimates.csv", keep_default_na=False, na_values=[""])
    first = estimates.groupby("model", sort=False).first()
    for model, texts in sidecar["models"].items():
        if model not in first.index:
            continue
        for column in ("estimator", "formula", "vcov", "ssc", "subset"):
            value = first.loc[model, column]
            assert ("" if pd.isna(value) else str(value)) == (texts[column] or ""), (
                f"{model}: {column} changed; {REGENERATE}"
            )


def _engine(p: ModelPlan) -> Engine:
    return ENGINES[PREFERENCE[p.kind][0]]


def test_python_matches_the_r_reference(plans: list[ModelPlan], reference: pd.DataFrame) -> None:
    ref = reference.set_index("check")
    compared: set[str] = set()
    for p in plans:
        if p.skip or p.kind == "dml":
            continue
        engine = _engine(p)
        for c in p.checks:
            if c.name not in ref.index or c.skip:
                continue
            row = ref.loc[c.name]
            assert str(row["r_engine"]).startswith(engine.title), (c.name, row["r_engine"])
            tol = tolerance(c.tolerance or engine.family, c.quantity).value
            assert float(row["tolerance"]) == tol, f"{c.name}: tolerance changed; {REGENERATE}"
            r = float(row["r_value"])
            if np.isnan(c.python_value) and np.isnan(r):
                continue
            assert abs(c.python_value - r) <= tol, (c.name, c.python_value, r, tol)
            compared.add(p.model)
    assert set(NEW) - {"dml_plr[linear]"} <= compared


def test_dml_with_ols_learners_matches_doubleml_in_r(
    reference: pd.DataFrame,
    sidecar: dict,
    parity_run: Path,  # type: ignore[type-arg]
) -> None:
    """The check-only Python fit (the project's doubleml_plr, "linear" learner, the run's folds)
    against R's DoubleML on the same folds, to 1e-8 per repetition."""
    from analysis.config import load_config

    texts = sidecar["models"]["dml_plr[linear]"]
    spec = parse_dml(texts["formula"], texts["ssc"], load_config().seed)
    panel = pd.read_csv(parity_run / "analysis_panel.csv")
    ref = dml_reference(panel, spec)
    rows = reference[reference["model"] == "dml_plr[linear]"].set_index("check")
    assert len(rows) == 1 + 2 * spec.n_rep
    tol = tolerance("DoubleML", "estimate").value
    for r, (b, se) in enumerate(zip(ref.coefs, ref.ses, strict=True), start=1):
        assert abs(b - float(rows.loc[f"dml_plr[linear]/rep::{r}/estimate", "r_value"])) <= tol
        assert abs(se - float(rows.loc[f"dml_plr[linear]/rep::{r}/std_error", "r_value"])) <= tol
    median = float(rows.loc["dml_plr[linear]/treat_post/estimate", "r_value"])
    assert abs(ref.median - median) <= tol
