"""[model] reference_period reaches every event-study table, figure and recorded formula: with
-2 the TWFE, Sun-Abraham and two-stage event studies omit -2 and estimate -1, the tables show
-2 as the zero row, the notes say what each column is relative to, and the estimates are the
reparametrisation of the -1 ones that theory says they are."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import Config
from analysis.exhibit import Context, Output
from analysis.exhibits import event_study, event_study_estimators
from analysis.inference import VcovSpec
from analysis.models import twfe
from rbridge.spec import SunabTerm, parse_formula

REF = -2


@pytest.fixture(scope="module")
def contexts(cfg: Config, default_panel: pd.DataFrame) -> tuple[Context, Context]:
    other = replace(cfg, model=replace(cfg.model, reference_period=REF))
    return Context(panel=default_panel, cfg=cfg), Context(panel=default_panel, cfg=other)


@pytest.fixture(scope="module")
def outputs(contexts: tuple[Context, Context]) -> dict[str, Output]:
    _, ctx = contexts
    return {"es": event_study.run(ctx), "staggered": event_study_estimators.run(ctx)}


def test_event_study_table_and_rows(outputs: dict[str, Output], tmp_path: Path) -> None:
    out = outputs["es"]
    table = out.tables[event_study.TABLE].set_index("event_time")
    assert (table.loc[REF, ["estimate", "std_error", "conf_low", "conf_high"]] == 0).all()
    assert table.loc[-1, "std_error"] > 0 and np.isfinite(table.loc[-1, "estimate"])
    terms = {e.term for e in out.estimates}
    assert "event_time::-1" in terms and f"event_time::{REF}" not in terms
    assert {e.reference_period for e in out.estimates} == {REF}
    assert f"ref = c({REF}, -1000)" in out.estimates[0].formula
    assert f"Reference period {REF}" in out.notes[event_study.TABLE]
    out.figures[event_study.FIGURE](tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000


def test_twfe_coefficients_are_the_reparametrisation(contexts: tuple[Context, Context]) -> None:
    """b^(-2)_k = b^(-1)_k - b^(-1)_-2 for every k, and b^(-2)_-1 = -b^(-1)_-2."""
    base, other = (twfe.event_study(c)[0].coef for c in contexts)
    shift = base["event_time::-2"]
    for term, value in other.items():
        expected = -shift if term == "event_time::-1" else base[term] - shift
        assert value == pytest.approx(expected, abs=1e-10), term


def test_sunab_and_did2s_omit_the_configured_period(outputs: dict[str, Output]) -> None:
    rows = outputs["staggered"].estimates
    for model in ("sunab", "did2s"):
        terms = {e.term for e in rows if e.model == model}
        assert "event_time::-1" in terms and f"event_time::{REF}" not in terms, model
        assert {e.reference_period for e in rows if e.model == model} == {REF}
    sunab = next(e for e in rows if e.model == "sunab")
    # The recorded formula is what fixest runs, and the cross-check reads ref.p from it.
    assert parse_formula(sunab.formula).sunab == SunabTerm("first_treat", "year", REF)
    did2s = next(e for e in rows if e.model == "did2s")
    assert f"ref=c({REF}, Inf)" in did2s.formula  # never-treated kept as rel_time = Inf
    imputation = next(e for e in rows if e.model == "imputation")
    assert imputation.reference_period == -1  # diff-diff's fixed convention, stated
    note = outputs["staggered"].notes[event_study_estimators.TABLE]
    assert f"Reference period {REF} for TWFE, Sun-Abraham and two-stage" in note
    assert "relative to -1" in note


def test_sunab_is_the_cohort_wise_reparametrisation(
    contexts: tuple[Context, Context], default_panel: pd.DataFrame
) -> None:
    """Sun-Abraham with -2 omitted in every cohort: each cohort's coefficients shift by its
    own -2 coefficient, then the cohort shares at each relative time average them."""
    spec = VcovSpec(contexts[0].cfg.inference)
    _, base = event_study_estimators.sunab(default_panel, spec, -1)
    sa, other = event_study_estimators.sunab(default_panel, spec, REF)
    b, o = base.coef, other.coef
    for name, value in o.items():
        cohort, k = name.split("_")[1], name.split("_")[2]
        shift = b[f"sa_{cohort}_m2"]
        expected = -shift if k == "m1" else b[name] - shift
        assert value == pytest.approx(expected, abs=1e-9), name
    assert REF not in sa.times and -1 in sa.times


def test_figure2_marks_onset_not_reference(outputs: dict[str, Output], tmp_path: Path) -> None:
    outputs["staggered"].figures[event_study_estimators.FIGURE](tmp_path / "f2.png")
    assert (tmp_path / "f2.png").stat().st_size > 10_000


def test_a_window_wider_than_the_data_is_clipped_and_said(default_panel, cfg) -> None:  # type: ignore[no-untyped-def]
    """[model] event_window wider than the event times the panel has: the event study runs
    on the window the data allow, and its note says what was clipped."""
    from dataclasses import replace as dc_replace

    from analysis.exhibit import Context
    from analysis.prepare.panel import event_time, observed_window

    rel = default_panel["rel_time"]
    seen = (int(rel.min()), int(rel.max()))
    wide = dc_replace(cfg, model=dc_replace(cfg.model, event_window=(seen[0] - 3, seen[1] + 4)))
    assert observed_window(rel, wide.model.event_window) == seen
    panel = default_panel.assign(event_time=event_time(default_panel, wide))  # as prepared
    ctx = Context(panel=panel, cfg=wide)
    out = event_study.run(ctx)
    assert f"clipped to [{seen[0]}, {seen[1]}]" in out.notes[event_study.TABLE]
    table = out.tables[event_study.TABLE]
    assert table["event_time"].min() == seen[0] and table["event_time"].max() == seen[1]
    assert table["estimate"].notna().all()
