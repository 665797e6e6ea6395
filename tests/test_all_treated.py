"""A staggered rollout in which every unit is treated in the end (no never-treated units).

R's did (2.5.1) then compares, for control_group = "notyettreated", with the not-yet-treated
units on the periods before the last cohort's first treated period, and estimates nothing
for that cohort (analysis.estimators.last_cohort). The project's Callaway-Sant'Anna is
checked against hand-computed 2x2 DIDs under that rule, its event-study estimators against
R's fixest (values below, from the script in R_SUNAB) and against each other, and what
needs never-treated units is listed as not run, with the reason.

Tolerances: EXACT 1e-10 (the same arithmetic on the same numbers); R_TOL 1e-8 (R's values
written with 10 significant digits, as in tests/test_callaway_santanna.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.catalogue import exhibit
from analysis.cli import main
from analysis.config import Config, load_config
from analysis.estimators.last_cohort import NO_NEVER_TREATED, last_cohort
from analysis.exhibit import Context
from analysis.models import callaway_santanna as cs
from tests.any_unit_panel import TAU, write_units

EXACT, R_TOL = 1e-10, 1e-8
COHORTS = (3, 5, 7)


def rollout_panel(seed: int = 0, n: int = 45, periods: int = 8) -> pd.DataFrame:
    """An analysis panel of n units in three cohorts (3, 5, 7) over periods 1..8, every unit
    treated in the end; unit and period effects, an effect growing with exposure, noise."""
    rng = np.random.default_rng(seed)
    cohort = np.array([COHORTS[i % 3] for i in range(n)])
    unit = rng.normal(size=n)
    period = np.cumsum(rng.normal(0.1, 0.2, periods))
    rows = []
    for i in range(n):
        for t in range(1, periods + 1):
            effect = 0.5 + 0.1 * (t - cohort[i]) if t >= cohort[i] else 0.0
            y = unit[i] + period[t - 1] + effect + rng.normal(0, 0.5)
            rows.append((i + 1, t, cohort[i], int(t >= cohort[i]), t - cohort[i], y))
    columns = ["city_code", "year", "first_treat", "treat_post", "rel_time", "resilience"]
    panel = pd.DataFrame(rows, columns=columns)
    panel["rel_time"] = panel["rel_time"].astype(float)
    panel["event_time"] = panel["rel_time"].clip(-5, 5).astype(int)
    return panel


def hand_notyet(panel: pd.DataFrame, g: int, t: int) -> float:
    """ATT(g,t) by hand under R did's rule: units not yet treated at max(t, base) are the
    controls (the last cohort among them: it is untreated in every period kept)."""
    base = g - 1 if t >= g else t - 1
    wide = panel.pivot(index="city_code", columns="year", values="resilience")
    cohort = panel.groupby("city_code")["first_treat"].first()
    change = wide[t] - wide[base]
    controls = (cohort > max(t, base)) & (cohort != g)
    return float(change[cohort == g].mean() - change[controls].mean())


def test_not_yet_treated_callaway_santanna_follows_r_did_rule() -> None:
    panel = rollout_panel()
    rule = last_cohort(panel)
    assert rule is not None and rule.cohort == 7 and rule.dropped_years == (7, 8)
    f = cs.fit(panel, cs.CSSpec("notyettreated"))
    cells = {(int(g), int(t)): v for (g, t), v in f.results.group_time_effects.items()}
    # R's did: cohorts 3 and 5 (not the last), periods 2..6 (before 7; 1 is every base)
    assert set(cells) == {(g, t) for g in (3, 5) for t in range(2, 7)}
    for (g, t), v in cells.items():
        assert v["effect"] == pytest.approx(hand_notyet(panel, g, t), abs=EXACT), (g, t)
    sizes = panel.groupby("first_treat")["city_code"].nunique()
    post = [(g, t) for g, t in cells if t >= g]
    simple = sum(sizes[g] * cells[g, t]["effect"] for g, t in post) / sum(sizes[g] for g, _ in post)
    rows = cs.aggregations(f)
    assert rows[("cs_simple_notyet", "ATT")][0] == pytest.approx(simple, abs=EXACT)
    assert f.n_obs == 45 * 6  # the periods kept


def _cfg(**cs_options: object) -> Config:
    cfg = load_config()
    c = replace(cfg.callaway_santanna, bootstrap_reps=0, covariates=(), **cs_options)
    return replace(cfg, callaway_santanna=c)


def test_only_what_needs_never_treated_units_is_not_run() -> None:
    panel = rollout_panel()
    cfg = _cfg()
    ctx = Context(panel=panel, cfg=cfg)
    out = exhibit("callaway_santanna").produce(ctx)
    models = {e.model for e in out.estimates}
    assert {"cs_simple_notyet", "cs_dynamic_notyet_universal", "cs_attgt_notyet"} <= models
    assert not {"cs_simple", "cs_simple_universal"} & models
    assert out.not_run == {"never-treated controls": NO_NEVER_TREATED}
    note = out.notes["table4_callaway_santanna"]
    assert "the last-treated cohort (7, 15 units) is the comparison group" in note
    assert "No never-treated group is available." in note  # R's warning, quoted
    # the exhibit as a whole needs never-treated units only when nothing else is configured
    assert exhibit("callaway_santanna").needs.missing(ctx) == []
    only_never = Context(panel=panel, cfg=_cfg(control_groups=("nevertreated",)))
    (reason,) = exhibit("callaway_santanna").needs.missing(only_never)
    assert reason.startswith(NO_NEVER_TREATED) and "add 'notyettreated'" in reason
    # PSM-DID matches treated to never-treated units; the staggered DML as configured
    # compares with them, and the reason names the setting that changes that
    psm = exhibit("psm_did").needs.missing(ctx)
    assert NO_NEVER_TREATED in psm
    (dml,) = [r for r in exhibit("dml_did").needs.missing(ctx) if "never" in r]
    assert "[dml] did_control_group = 'never_treated'" in dml and "'not_yet_treated'" in dml
    notyet = replace(cfg, dml=replace(cfg.dml, did_control_group="not_yet_treated"))
    assert not any("never" in r for r in exhibit("dml_did").needs.missing(replace(ctx, cfg=notyet)))


# R 4.2.2, fixest 0.14.2, did2s 1.2.1 on rollout_panel() (R_SUNAB): Sun-Abraham on the
# periods before 7 (fixest reads cohort 7, never treated there, as the reference), and did2s
# on the whole panel (it leaves out periods 7 and 8, which have no first-stage effect).
R_SUNAB = """
s <- d[d$year < 7, ]
m <- fixest::feols(resilience ~ sunab(first_treat, year) | city_code + year, s,
                   cluster = ~city_code)
fixest::coeftable(m); fixest::coeftable(summary(m, agg = "ATT"))
d$rel_time <- ifelse(d$first_treat > 0, d$year - d$first_treat, Inf)
did2s::did2s(data = d, yname = "resilience", first_stage = ~0 | city_code + year,
             second_stage = ~i(rel_time, ref = c(-1, Inf)), treatment = "treat_post",
             cluster_var = "city_code")  # and second_stage = ~treat_post for the ATT
"""
R_VALUES = {
    ("sunab", "event_time::-4"): (0.13726342041, 0.21032303023),
    ("sunab", "event_time::0"): (0.64903592063, 0.16230690963),
    ("sunab", "event_time::3"): (0.32439242949, 0.26173683311),
    ("sunab", "ATT"): (0.4356337507, 0.1499167360),
    ("did2s", "event_time::-6"): (-0.01647557280, 0.07325177566),
    ("did2s", "event_time::0"): (0.68189864205, 0.13133027240),
    ("did2s", "event_time::3"): (0.42541879838, 0.21861378050),
    ("did2s", "ATT"): (0.4890194107, 0.1202261935),
}


def test_event_study_estimators_run_without_never_treated_units() -> None:
    """Sun-Abraham compares with the last cohort on the periods before it is treated, the
    two-stage and imputation estimators with the untreated unit-periods (periods 7 and 8
    have none: no effect there); each as R computes it."""
    panel = rollout_panel()
    ex = exhibit("event_study_estimators")
    ctx = Context(panel=panel, cfg=_cfg())
    assert ex.needs.missing(ctx) == []
    out = ex.produce(ctx)
    rows = {(e.model, e.term): e for e in out.estimates}
    for key, (estimate, se) in R_VALUES.items():
        assert rows[key].estimate == pytest.approx(estimate, rel=R_TOL, abs=R_TOL), key
        assert rows[key].std_error == pytest.approx(se, rel=R_TOL, abs=R_TOL), key
    sunab = rows["sunab", "ATT"]
    assert (sunab.subset, sunab.control_group, sunab.n_obs) == (
        "year not in (7, 8)",
        "lasttreated",
        270,
    )
    # no untreated unit-period in 7 and 8: cohort 3's event times 4 and 5 are not estimated
    assert ("did2s", "event_time::4") not in rows
    assert np.isnan(rows["imputation", "event_time::4"].estimate)
    # two-stage and imputation give the same ATT (Borusyak et al. 2024, Gardner 2022)
    assert rows["imputation", "ATT"].estimate == pytest.approx(
        rows["did2s", "ATT"].estimate, abs=EXACT
    )
    assert "last-treated cohort (7, 15 units)" in out.notes["table5_event_study_estimators"]


def test_only_callaway_santanna_runs_on_a_rollout_without_never_treated_units(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--only callaway_santanna` was an input error on such a panel; now it runs the
    not-yet-treated specifications and lists the never-treated ones as not run."""
    data, config = write_units(tmp_path, seed=5, n_units=120, never_share=0.0)
    out = tmp_path / "out"
    args = ["run", "--data", str(data), "--config", str(config), "--out", str(out)]
    code = main([*args, "--only", "callaway_santanna"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "not run: callaway_santanna (never-treated controls): no never-treated units" in err
    estimates = pd.read_csv(out / "estimates.csv")
    simple = estimates[estimates["model"] == "cs_simple_notyet"].iloc[0]
    assert simple["control_group"] == "notyettreated"
    assert abs(simple["estimate"] - TAU) < 3 * simple["std_error"]
    assert "cs_simple" not in set(estimates["model"])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["not_run"] == [
        {"exhibit": "callaway_santanna (never-treated controls)", "reasons": [NO_NEVER_TREATED]}
    ]


def test_the_rule_applies_only_without_never_treated_units() -> None:
    panel = rollout_panel()
    assert last_cohort(panel.assign(first_treat=panel["first_treat"].replace(7, 0))) is None
    # a cohort first treated after the last period is never treated within the panel
    assert last_cohort(panel.assign(first_treat=panel["first_treat"].replace(7, 9))) is None
    one = panel[(panel["first_treat"] < 7) | (panel["city_code"] == 3)]
    rule = last_cohort(one)
    assert rule is not None and rule.size == "1 unit" and rule.dropped_rows == 2 * 31


def test_staggered_dml_with_not_yet_treated_controls_runs_on_the_kept_periods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, config = write_units(tmp_path, seed=5, n_units=120, never_share=0.0)
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace("did_n_rep = 1\n", 'did_n_rep = 1\ndid_control_group = "not_yet_treated"\n'),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["run", "--data", str(data), "--config", str(config), "--out", str(out)]
    assert main([*args, "--only", "dml_did"]) == 0, capsys.readouterr().err
    estimates = pd.read_csv(out / "estimates.csv")
    cells = estimates.loc[estimates["model"] == "dml_did_gt", "term"]
    cohorts = {int(t.split("::")[1]) for t in cells}
    years = {int(t.split("::")[2]) for t in cells}
    assert cohorts == {2006, 2009} and max(years) < 2012  # the last cohort, 2012, compares
    simple = estimates[estimates["model"] == "dml_did_simple"].iloc[0]
    assert abs(simple["estimate"] - TAU) < 3 * simple["std_error"]
    note = (out / "tables" / "table12_dml_did.md").read_text(encoding="utf-8")
    assert "the last-treated cohort (2012" in note
