"""The data audit (analysis/prepare/audit.py, analysis/exhibits/data_audit.py): on the default
panel it reports exactly the planted missing cells and nothing else; on a small hand-made
panel each planted anomaly is flagged with its unit, year, column and kind, and nothing
else; thresholds come from a checked [audit] table."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.config import DEFAULT_PANEL, AuditConfig, Config, load_config
from analysis.errors import InputError
from analysis.exhibit import Context
from analysis.exhibits import data_audit
from analysis.pipeline import load_raw, select
from analysis.prepare import audit_repeats
from analysis.prepare.audit import audit
from analysis.prepare.audit_repeats import decimals, discrete
from analysis.prepare.panel import build_panel

YEARS = np.arange(2009, 2021)
UNITS = np.arange(101, 141)  # 40 units


def clean_panel(seed: int = 7) -> pd.DataFrame:
    """A small yearbook-like panel without anomalies: levels growing with small noise,
    sectors adding up to GDP, shares and rates (SIMULATED DATA)."""
    rng = np.random.default_rng(seed)
    n, t = len(UNITS), len(YEARS)
    k = np.arange(t)[None, :]
    size = rng.normal(0, 0.5, n)[:, None]

    def level(base: float, growth: float, sd: float) -> np.ndarray:
        return np.exp(base + size + growth * k + rng.normal(0, sd, (n, t)))

    gdp = level(7.5, 0.07, 0.02)
    shares = rng.dirichlet([2, 5, 5], n)
    population = level(5.9, 0.005, 0.005)
    cols = {
        "gdp": gdp,
        "va_primary": gdp * shares[:, [0]],
        "va_secondary": gdp * shares[:, [1]],
        "va_tertiary": gdp * shares[:, [2]],
        "population": population,
        "urban_population": population * rng.uniform(0.4, 0.8, (n, 1)),
        "loans": gdp * np.exp(rng.normal(0.2, 0.3, (n, 1)) + rng.normal(0, 0.03, (n, t))),
        "fdi": gdp * 0.02 * np.exp(rng.normal(0, 0.5, (n, 1)) + rng.normal(0, 0.05, (n, t))),
        "digital_employment_share": 0.02 * np.exp(0.03 * k + rng.normal(0, 0.03, (n, t))),
        "unemployment_rate": 0.03 + rng.normal(0, 0.002, (n, t)),
        "marketization": 6 + size + 0.1 * k + rng.normal(0, 0.05, (n, t)),
    }
    frame = pd.DataFrame({"city_code": np.repeat(UNITS, t), "year": np.tile(YEARS, n)})
    for name, values in cols.items():
        digits = 6 if values.mean() < 1 else 2
        frame[name] = np.round(values.ravel(), digits)
    return frame


def plant(frame: pd.DataFrame, unit: int, years: object, column: str, how: object) -> None:
    rows = (frame["city_code"] == unit) & frame["year"].isin(np.atleast_1d(years))
    if callable(how):
        frame.loc[rows, column] = how(frame.loc[rows, column])
    else:
        frame.loc[rows, column] = how


def found(result_flags: pd.DataFrame) -> set[tuple[int, int, str, str]]:
    return {
        (int(u), int(y), c, k)
        for u, y, c, k in result_flags[["unit", "year", "column", "kind"]].itertuples(index=False)
    }


RULES = AuditConfig()


def test_clean_panel_raises_no_flag() -> None:
    assert audit(clean_panel(), RULES).flags.empty


def test_each_planted_anomaly_is_flagged_with_its_cell_and_kind_and_nothing_else() -> None:
    frame = clean_panel()
    plant(frame, 103, 2012, "loans", np.nan)  # missing
    plant(frame, 105, 2014, "fdi", -3.0)  # negative where a level must be non-negative
    plant(frame, 107, 2016, "digital_employment_share", 1.3)  # a share above 1
    plant(frame, 109, 2013, "gdp", lambda v: v * 1.2)  # GDP above its sectors
    plant(frame, 111, 2015, "loans", lambda v: v * 4)  # a fourfold outlier
    plant(frame, 113, range(2016, 2021), "population", lambda v: v * 2.5)  # a level shift
    plant(frame, 115, range(2017, 2021), "fdi", lambda v: v * 1e4)  # 万元 from 2017 on
    plant(frame, 117, YEARS, "loans", lambda v: v * 1e4)  # 万元 in every year
    value = frame.loc[(frame["city_code"] == 122) & (frame["year"] == 2014), "unemployment_rate"]
    for unit in (119, 120, 121, 123):  # one value pasted into four other units
        plant(frame, unit, 2014, "unemployment_rate", float(value.iloc[0]))
    expected = {
        (103, 2012, "loans", "missing"),
        (105, 2014, "fdi", "non_positive"),
        (107, 2016, "digital_employment_share", "out_of_range"),
        (109, 2013, "gdp", "parts"),
        (111, 2015, "loans", "jump"),
        (113, 2016, "population", "jump"),
        (115, 2017, "fdi", "scale_break"),
        *((117, int(y), "loans", "scale_break") for y in YEARS),
        *((u, 2014, "unemployment_rate", "repeated") for u in (119, 120, 121, 122, 123)),
    }
    result = audit(frame, RULES)
    assert found(result.flags) == expected
    flags = result.flags.set_index(["unit", "year", "column"])
    outlier = flags.loc[(111, 2015, "loans"), "detail"]
    assert outlier.endswith("against 2014 and 2016 (outlier)")
    assert 3 < float(outlier.split()[0].removeprefix("x")) < 5
    assert "x10^4 from 2017 on" in flags.loc[(115, 2017, "fdi"), "detail"]
    assert flags.loc[(105, 2014, "fdi"), "value"] == -3.0
    assert result.notes == ()


def count_panel(seed: int = 3, units: int = 600) -> pd.DataFrame:
    """A count outcome as an officer panel holds it (complaints): mostly 0, and each year 40
    units with one, six with two, two with three (SIMULATED DATA)."""
    rng = np.random.default_rng(seed)
    values = np.zeros((units, len(YEARS)))
    for j in range(len(YEARS)):
        who = rng.choice(units, 48, replace=False)
        values[who[:40], j], values[who[40:46], j], values[who[46:], j] = 1, 2, 3
    return pd.DataFrame(
        {
            "city_code": np.repeat(np.arange(1, units + 1), len(YEARS)),
            "year": np.tile(YEARS, units),
            "resilience": values.ravel(),
        }
    )


def test_a_count_column_is_not_checked_for_repeats_and_the_audit_says_so_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A count shares values across units by its nature: on a real officer panel 19,808
    cells of complaints were flagged as repeated. A discrete column is now exempt, and the
    audit says so once; a value pasted into a continuous column is still flagged."""
    counts = count_panel()
    result = audit(counts, RULES)
    assert result.flags.empty
    assert [n for n in result.notes if "repeated" in n] == [
        "resilience: not checked for repeated values, since a discrete column (integer-valued "
        "with few distinct values, such as a count) shares values across units by chance"
    ]
    frame = clean_panel()
    rng = np.random.default_rng(3)
    frame["resilience"] = rng.poisson(0.4, len(frame)).astype(float)
    frame["sustained"] = rng.poisson(0.1, len(frame)).astype(float)
    value = frame.loc[(frame["city_code"] == 122) & (frame["year"] == 2014), "unemployment_rate"]
    for unit in (119, 120, 121, 123):
        plant(frame, unit, 2014, "unemployment_rate", float(value.iloc[0]))
    result = audit(frame, RULES)
    assert found(result.flags) == {
        (u, 2014, "unemployment_rate", "repeated") for u in (119, 120, 121, 122, 123)
    }
    (note,) = [n for n in result.notes if "not checked for repeated values" in n]
    assert note.startswith("resilience, sustained: ")
    assert discrete(frame["resilience"])
    assert not discrete(frame["population"].round())  # integer-valued, but a level
    # checked as before, each count of one in a year is flagged: the exemption is the change
    monkeypatch.setattr(audit_repeats, "DISCRETE_LEVELS", 0)
    flagged = audit(counts, RULES).flags
    assert len(flagged) == 40 * len(YEARS) and set(flagged["kind"]) == {"repeated"}


def test_a_copied_row_is_flagged_in_each_shared_column() -> None:
    """Two units with the same values in several columns of one year (each column alone
    could be chance) are flagged in every shared column."""
    frame = clean_panel()[["city_code", "year", "unemployment_rate", "digital_employment_share"]]
    for column in ("unemployment_rate", "digital_employment_share"):
        source = frame.loc[(frame["city_code"] == 130) & (frame["year"] == 2018), column]
        plant(frame, 131, 2018, column, float(source.iloc[0]))
    expected = {
        (u, 2018, c, "repeated")
        for u in (130, 131)
        for c in ("unemployment_rate", "digital_employment_share")
    }
    assert found(audit(frame, RULES).flags) == expected


def test_a_whole_year_in_other_units_is_flagged_in_every_unit() -> None:
    """A year whose every value is 10^4 too large moves the common change: it is kept, so
    every unit's cell of that year is a break of scale."""
    frame = clean_panel()
    plant_all = frame["year"] == 2015
    frame.loc[plant_all, "loans"] *= 1e4
    result = audit(frame, RULES)
    assert found(result.flags) == {(int(u), 2015, "loans", "scale_break") for u in UNITS}
    assert any("loans" in n and "2015" in n for n in result.notes)


def test_a_column_shifted_by_one_row_in_one_year_is_noted() -> None:
    """One year's column slipped by one row (each unit has the next unit's value): units
    jump in that year only, and the cluster is noted."""
    frame = clean_panel()
    rows = frame.index[frame["year"] == 2015]
    frame.loc[rows, "loans"] = np.roll(frame.loc[rows, "loans"].to_numpy(), -1)
    result = audit(frame, RULES)
    kinds = set(result.flags["kind"])
    assert set(result.flags["year"]) == {2015} and set(result.flags["column"]) == {"loans"}
    assert kinds <= {"jump", "scale_break"} and len(result.flags) >= 5
    assert any(n.startswith("loans in 2015:") for n in result.notes)


def test_province_level_values_are_noted_not_flagged() -> None:
    """An indicator shared by groups of units (a province's value for its cities) is no
    copy-paste error: a note, no flags."""
    frame = clean_panel()
    group = (frame["city_code"] - 101) // 8
    frame["marketization"] = frame.groupby([group, "year"])["marketization"].transform("first")
    result = audit(frame, RULES)
    assert result.flags.empty
    assert any(n.startswith("marketization:") for n in result.notes)


def test_absent_roles_are_not_audited() -> None:
    """Without value added (the parts rule needs every part) or any level, the audit runs
    on what is mapped."""
    frame = clean_panel().drop(columns=["va_primary", "va_secondary"])
    plant(frame, 109, 2013, "va_tertiary", lambda v: v * 1.25)
    result = audit(frame, RULES)
    assert result.flags.empty
    assert "va_primary" not in result.columns
    only = clean_panel()[["city_code", "year", "unemployment_rate"]]
    assert audit(only, RULES).coverage.shape == (1, len(YEARS))


def test_decimals_as_written() -> None:
    values = np.array([2748.878, 0.035123, 12.0, 1e8, 0.1 + 0.2])
    assert decimals(values).tolist() == [3, 6, 0, 0, 1]


def _csv_missing_cells(cfg: Config) -> set[tuple[int, int, str]]:
    """The empty cells of the default panel's CSV, read as text (independent of the
    loader's parsing)."""
    text = pd.read_csv(DEFAULT_PANEL, dtype=str, keep_default_na=False)
    roles = {**cfg.inputs, **{c.role: c.column for c in cfg.components}}
    return {
        (int(code), int(year), role)
        for role, column in roles.items()
        for code, year in text.loc[text[column] == "", ["city_code", "year"]].itertuples(
            index=False
        )
    }


@pytest.fixture(scope="module")
def default_audit() -> tuple[Context, data_audit.Output]:
    cfg = load_config()
    raw = load_raw(DEFAULT_PANEL, cfg)
    panel, info = build_panel(raw, cfg, str(DEFAULT_PANEL))
    ctx = Context(panel=panel, cfg=cfg, raw=raw, prepared=info)
    return ctx, data_audit.run(ctx)


def test_default_panel_reports_its_planted_missing_cells_and_no_false_alarm(
    default_audit: tuple[Context, data_audit.Output],
) -> None:
    ctx, out = default_audit
    flags = out.tables[data_audit.FLAGS]
    planted = _csv_missing_cells(ctx.cfg)
    assert len(planted) == 239  # 0.3% of 266 x 14 x 28 cells, as simulate.py plants them
    assert set(flags["kind"]) == {"missing"}
    assert {(int(u), int(y), c) for u, y, c in flags[["unit", "year", "column"]].to_numpy()} == (
        planted
    )


def test_default_panel_summary_matches_the_preparation(
    default_audit: tuple[Context, data_audit.Output],
) -> None:
    """Interpolated counts per column equal the preparation's, and each missing cell's
    detail gives the interpolated value of the analysis panel."""
    ctx, out = default_audit
    assert ctx.prepared is not None
    data_audit.EXHIBIT.check(out)
    assert out.estimates == []
    table = out.tables[data_audit.TABLE].set_index("column")
    total = table.loc["all"]
    assert total["missing"] == total["interpolated"] == ctx.prepared.interpolated_cells == 239
    assert total["flags"] == 0 and total["dropped"] == 0
    for column, n in ctx.prepared.interpolated_by_column.items():
        assert table.loc[column, "interpolated"] == table.loc[column, "missing"] == n
    flags = out.tables[data_audit.FLAGS]
    first = flags.iloc[0]
    cell = ctx.panel.set_index(["city_code", "year"]).loc[(first["unit"], first["year"])]
    value = cell["raw_" + first["column"]]
    assert first["detail"] == f"interpolated: {value:.6g}"
    assert out.manifest["missing"] == 239 and sum(out.manifest["flags"].values()) == 0


def test_coverage_figure_is_written(
    default_audit: tuple[Context, data_audit.Output], tmp_path: Path
) -> None:
    _, out = default_audit
    path = tmp_path / "figure0_coverage.png"
    out.figures[data_audit.FIGURE](path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dropped_cells_are_counted_per_column() -> None:
    """With [panel] missing = "drop", every missing cell's city-year is dropped: counted per
    column by the preparation and described per cell by the audit."""
    cfg = load_config()
    cfg = replace(cfg, panel=replace(cfg.panel, missing="drop"))
    raw = load_raw(DEFAULT_PANEL, cfg)
    panel, info = build_panel(raw, cfg, str(DEFAULT_PANEL))
    missing = raw.isna().sum()
    assert info.dropped_by_column == {c: int(missing[c]) for c in info.dropped_by_column}
    assert sum(info.interpolated_by_column.values()) == 0
    out = data_audit.run(Context(panel=panel, cfg=cfg, raw=raw, prepared=info))
    missing = out.tables[data_audit.FLAGS]
    assert set(missing["detail"]) == {"dropped with its city-year"}
    assert out.tables[data_audit.TABLE].iloc[-1]["dropped"] == 239


def test_the_audit_runs_first_and_always() -> None:
    chosen = [ex.id for ex in select(("baseline",))]
    assert chosen == ["data_audit", "baseline"]
    assert select(None)[0].id == "data_audit"


def test_audit_defaults_equal_study_toml() -> None:
    assert load_config().audit == AuditConfig()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[audit]\njump_ratio = 1.0\n", "[audit] jump_ratio = 1.0 must be greater than 1"),
        ("[audit]\nrepeat_alpha = 0\n", "[audit] repeat_alpha = 0 must be in (0, 1)"),
        ("[audit]\njump_z = 'six'\n", "[audit] jump_z = 'six' must be of type float"),
        (
            "[audit.ranges]\nunemployment_rat = [0, 1]\n",
            "unknown role 'unemployment_rat' (did you mean 'unemployment_rate'?)",
        ),
        (
            "[audit.ranges]\nunemployment_rate = [1, 0]\n",
            "unemployment_rate = [1, 0] must be [low, high] with low < high",
        ),
    ],
)
def test_bad_audit_table_is_one_line_error(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "user.toml"
    path.write_text(table, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def test_audit_ranges_are_overlaid_role_by_role(tmp_path: Path) -> None:
    path = tmp_path / "user.toml"
    path.write_text("[audit.ranges]\nunemployment_rate = [0.0, 0.5]\n", encoding="utf-8")
    assert load_config(path).audit.ranges == (
        ("digital_employment_share", 0.0, 1.0),
        ("unemployment_rate", 0.0, 0.5),
    )


def test_a_run_with_only_one_exhibit_still_audits_first(tmp_path: Path) -> None:
    """`--only baseline` runs the audit too: its tables and figure are written, it heads the
    manifest, and estimates.csv has no row of it; the report shows it after the results
    (the findings come first) and before what was dropped."""
    from analysis.pipeline import run

    out = run(out=tmp_path / "out", only=("baseline",)).out
    for name in (data_audit.TABLE, data_audit.FLAGS):
        assert (out / "tables" / f"{name}.csv").exists()
    assert (out / "figures" / f"{data_audit.FIGURE}.png").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    first = manifest["exhibits"][0]
    assert first["id"] == "data_audit" and first["details"]["missing"] == 239
    estimates = pd.read_csv(out / "estimates.csv")
    assert set(estimates["exhibit"]) == {"table2_baseline"}
    report = (out / "report.html").read_text(encoding="utf-8")
    assert (
        report.index('id="baseline"') < report.index('id="data_audit"') < report.index('id="data"')
    )
    assert "data audit: 239 missing cells" in (out / "run.log").read_text(encoding="utf-8")


def test_without_the_raw_panel_the_analysis_panel_inputs_are_audited(
    default_audit: tuple[Context, data_audit.Output],
) -> None:
    """An exhibit run on a ready panel (no raw panel in the context) audits the inputs kept
    in the analysis panel, and says so: no cell is missing there, and the only flags are
    GDP cells that were missing and interpolated, which no longer match their sectors."""
    ctx, _ = default_audit
    out = data_audit.run(Context(panel=ctx.panel, cfg=ctx.cfg))
    data_audit.EXHIBIT.check(out)
    flags = out.tables[data_audit.FLAGS]
    assert set(flags["kind"]) <= {"parts"}
    gdp_missing = {(u, y) for u, y, c in _csv_missing_cells(ctx.cfg) if c == "gdp"}
    assert {(u, y) for u, y in flags[["unit", "year"]].to_numpy()} <= gdp_missing
    assert "raw panel was not given" in out.notes[data_audit.TABLE]


def test_a_copy_of_study_toml_without_an_input_loads(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    """A user's copy of data/study.toml keeps every [audit.ranges] entry; removing an input
    from [inputs] drops the range of that role with a note instead of failing."""
    from analysis.config import DEFAULT_CONFIG

    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.startswith("digital_employment_share ="))
    user = tmp_path / "copy.toml"
    user.write_text(text.replace(line + "\n", "", 1), encoding="utf-8")
    with caplog.at_level("INFO"):
        cfg = load_config(user)
    assert "digital_employment_share" not in cfg.inputs
    assert "digital_employment_share" not in {role for role, *_ in cfg.audit.ranges}
    assert "[audit] ranges: digital_employment_share not checked" in caplog.text
