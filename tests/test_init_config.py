"""`python -m analysis init-config`: the synonyms table covers the study's roles; on the messy
yearbook panel every mappable column is mapped to its role and nothing else is; on the
default panel every role of data/study.toml is mapped as the study maps it; the file loads;
bad input is one line with exit status 2."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

import analysis.initconfig.text as config_text
from analysis.cli import main
from analysis.config import DEFAULT_CONFIG, DEFAULT_PANEL, load_config
from analysis.initconfig.guess import Proposal, propose
from analysis.initconfig.synonyms import synonyms
from analysis.prepare.loading import read_table
from tests import messy_panel as mp
from tests.conftest import SMALL_DML_TOML
from tests.toml_edit import set_keys


def _study() -> dict[str, dict[str, object]]:
    with DEFAULT_CONFIG.open("rb") as fh:
        return tomllib.load(fh)


def _mapping(p: Proposal) -> dict[str, str]:
    """role -> column, the treatment found in the data as role cohort or indicator."""
    roles = {m.role: m.column for m in p.mapped}
    if p.treatment_column:
        roles["cohort" if p.treatment_source == "column" else "indicator"] = p.treatment_column
    return roles


@pytest.fixture(scope="module")
def messy() -> mp.MessyPanel:
    return mp.messy_panel(0)


@pytest.fixture(scope="module")
def messy_proposal(messy: mp.MessyPanel) -> Proposal:
    return propose(messy.table, "messy.csv")


# ---- the synonyms table --------------------------------------------------------------------


def test_synonyms_cover_every_role_of_the_study() -> None:
    syn = synonyms()  # building the index fails if a name served two roles
    study = _study()
    for table in ("inputs", "components", "columns"):
        for role, column in study[table].items():
            entries = [r for r in syn.roles if (r.table, r.role) == (table, role)]
            assert entries, f"[{table}] {role} has no synonyms"
            # The default panel's own column names are among them.
            name = column["column"] if isinstance(column, dict) else column
            match = syn.match(str(name))
            assert match is not None and (match.role.table, match.role.role) == (table, role)


@pytest.mark.parametrize(
    ("header", "role", "unit"),
    [
        ("地区生产总值（亿元）", "inputs.gdp", "亿元"),
        ("地区生产总值_全市", "inputs.gdp", ""),
        ("gdp_100m_yuan", "inputs.gdp", "亿元"),
        ("GDP (current prices, 100 million yuan)", "inputs.gdp", "亿元"),
        ("年末金融机构人民币各项贷款余额(万元)", "inputs.loans", "万元"),
        ("实际利用外资金额【百万美元】", "inputs.fdi", "百万美元"),
        ("户籍人口\u200b(万人)", "inputs.population", "万人"),
        ("常住人口万人", "inputs.population", "万人"),
        ("Urban Population", "inputs.urban_population", ""),
        ("专利授权数（件）", "inputs.invention_patents", "件"),
        ("互联网宽带接入用户数(万户)", "inputs.broadband_subscribers", "万户"),
        ("broadband_subscribers", "inputs.broadband_subscribers", ""),
        ("第二产业从业人员（万人）", "inputs.emp_secondary", "万人"),
        ("Ｒ＆Ｄ经费投入强度(%)", "components.rd_intensity", "%"),
        ("城镇登记失业率 %", "components.unemployment_rate", "%"),
        ("年末金融机构各项存款余额(万元)", "unused.deposits", "万元"),
        ("人均地区生产总值(元)", "unused.gdp_per_capita", "元"),
        ("专利申请数", "unused.patent_applications", ""),
        ("first.treat", "treatment.cohort", ""),
    ],
)
def test_headers_match_their_role_and_unit(header: str, role: str, unit: str) -> None:
    syn = synonyms()
    parsed = syn.parse_header(header)
    match = syn.match(parsed)
    assert match is not None and f"{match.role.table}.{match.role.role}" == role
    assert parsed.unit_text == unit or (parsed.unit and parsed.unit.name == unit)


@pytest.mark.parametrize("header", ["存款余额", "人均GDP", "工业增加值", "GDP增长率", "lemp", "x"])
def test_near_names_do_not_match_a_role(header: str) -> None:
    match = synonyms().match(header)
    assert match is None or match.role.table == "unused"


# ---- the messy yearbook panel --------------------------------------------------------------


def test_messy_panel_every_mappable_column_mapped(
    messy: mp.MessyPanel, messy_proposal: Proposal
) -> None:
    p = messy_proposal
    mapped = _mapping(p)
    assert mapped == messy.roles  # exactly the roles, each to the column the truth names
    assert (p.units, p.city_key, p.year_column) == ("cities", "code", "年份")
    assert (p.first_year, p.last_year, p.data_years) == (2009, 2022, (2007, 2023))
    assert (p.treatment_source, p.treatment_column) == ("column", mp.COHORT)
    assert "300 units, 266 of the study's 266 cities" in p.key_note
    # Every other column is left out, with a reason naming why.
    left = {x.column: x.reason for x in p.left}
    assert set(left) == set(messy.table.columns) - set(mapped.values())
    for column, role in messy.alternatives.items():
        assert left[column].startswith(("also", "another unit key")), column
        assert role == "city" or f"inputs.{role} uses" in left[column]
    for column in messy.unmappable:
        assert "no role" in left[column], column
    # The key quirks are read and shown.
    readings = " ".join(p.readings)
    for code in ("110000", "120000", "310000", "500000", "522400", "522200"):
        assert f"'{code}'" in readings
    assert "full-width" in readings
    absent = {a.role for a in p.absent}
    assert {"urban_population", "invention_patents", "emp_primary", "marketization"} <= absent


def test_messy_units_are_reported_with_scales(messy_proposal: Proposal) -> None:
    notes = {col: (unit, note) for col, unit, note in messy_proposal.units_found}
    assert notes[mp.LOANS] == ("万元", "unit 万元; the study assumes 亿元: multiply by 0.0001")
    assert notes[mp.GDP_YI][1] == "unit 亿元, as the study assumes"
    assert "US dollars" in notes[mp.FDI][1] and "convert" in notes[mp.FDI][1]
    assert notes[mp.COLLEGE][1].endswith("multiply by 0.0001")
    assert notes[mp.GDP_WAN] == ("万元", "")  # not mapped: reported, no scale to set


def test_messy_file_loads_and_comments_the_rest(messy: mp.MessyPanel, tmp_path: Path) -> None:
    data = messy.write_csv(tmp_path / "messy.csv")
    out = tmp_path / "generated.toml"
    assert main(["init-config", str(data), "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    cfg = load_config(out)
    assert cfg.columns == {"city": "城市代码", "year": "年份"}
    assert {c.role: c.column for c in cfg.components} == {
        r: messy.roles[r] for r in mp.COMPONENT_ROLES
    }
    mapped_inputs = {k: v for k, v in tomllib.loads(text)["inputs"].items()}
    skip = {"city", "year", "cohort", *mp.COMPONENT_ROLES}
    assert mapped_inputs == {k: v for k, v in messy.roles.items() if k not in skip}
    assert cfg.treatment.source == "column" and cfg.treatment.cohort_column == mp.COHORT
    # What is not mapped is there as a comment with its reason (one comment per reason); the
    # invisible character of a header is escaped, so the line shows it.
    left = text[text.index("# ---- Columns of the file left out") :]
    for column in (*messy.unmappable, *messy.alternatives):
        assert f"# {config_text.name(column)}: " in left, column
    assert "inputs.population uses" in left and "the study has no role for it" in left
    assert "\\u200b" in text
    assert "# urban_population: no column found" in text
    assert "loans = " in text and "multiply by 0.0001" in text


def test_name_keyed_messy_panel(messy: mp.MessyPanel) -> None:
    p = propose(messy.table.drop(columns=["城市代码"]), "names.csv")
    assert (p.key_column, p.city_key, p.units) == ("城市名称", "name", "cities")
    readings = " ".join(p.readings)
    assert "former name" in readings and "name without suffix" in readings
    assert "invisible" in readings


# ---- the default panel ---------------------------------------------------------------------


def test_default_panel_maps_every_role_as_the_study(tmp_path: Path) -> None:
    out = tmp_path / "default.toml"
    assert main(["--quiet", "init-config", str(DEFAULT_PANEL), "--out", str(out)]) == 0
    got, study = load_config(out), load_config()
    assert got.columns == study.columns
    assert got.components == study.components  # columns, directions and dimensions
    assert got.inputs == study.inputs
    assert got.outcome == study.outcome and got.treatment == study.treatment
    assert got.panel == study.panel
    # Each role is written in the file (not inherited from the defaults).
    raw = tomllib.loads(out.read_text(encoding="utf-8"))
    assert set(raw["inputs"]) == set(study.inputs)
    assert set(raw["components"]) == {c.role for c in study.components}
    p = propose(read_table(DEFAULT_PANEL), "default")
    assert {x.column for x in p.left} == {"simulated", "city_name"} and not p.absent


@pytest.mark.parametrize("suffix", [".parquet", ".dta"])
def test_typed_formats_map_as_csv(suffix: str, tmp_path: Path) -> None:
    """Stata and Parquet hold typed columns (numbers, not text): the same guesses."""
    frame = pd.read_csv(DEFAULT_PANEL)
    path = tmp_path / f"panel{suffix}"
    if suffix == ".dta":
        frame.to_stata(path, write_index=False, version=118)
    else:
        frame.to_parquet(path)
    got = propose(read_table(path), path.name)
    want = propose(read_table(DEFAULT_PANEL), DEFAULT_PANEL.name)
    assert _mapping(got) == _mapping(want) and got.left == want.left
    assert (got.key_column, got.city_key, got.data_years) == ("city_code", "code", (2009, 2022))


# ---- other panels --------------------------------------------------------------------------


def _counties() -> pd.DataFrame:
    """A county panel as in a staggered-DID textbook example (not Chinese cities)."""
    rows = []
    for i in range(200):
        first = (0, 2004, 2006, 2007)[i % 4]
        for year in range(2003, 2008):
            rows.append(
                {
                    "countyreal": 8001 + 2 * i,
                    "year": year,
                    "lpop": 3 + i / 100,
                    "lemp": 5 + year / 1000 + i / 50,
                    "first.treat": first,
                    "treat": int(first > 0),
                }
            )
    return pd.DataFrame(rows)


def test_any_unit_panel(tmp_path: Path) -> None:
    path = tmp_path / "counties.xlsx"
    _counties().to_excel(path, index=False)
    p = propose(read_table(path), path.name)
    assert (p.units, p.key_column, p.year_column) == ("any", "countyreal", "year")
    assert (p.first_year, p.last_year) == (2003, 2007)
    assert (p.treatment_source, p.treatment_column) == ("column", "first.treat")
    assert {x.column for x in p.left} == {"lpop", "lemp", "treat"}  # nothing guessed
    # Offered, not mapped: lemp varies within counties (an outcome); lpop is constant within
    # each (a Callaway-Sant'Anna covariate at most); the group flag treat follows the
    # treatment (0 in every never-treated county, 1 in every treated one).
    assert p.outcome_candidates == ("lemp",)
    assert p.covariate_candidates == ("lemp", "lpop")
    assert p.profile["follows"] == ("treat",)
    assert p.event_window == (-4, 3)  # cohorts 2004-2007 in 2003-2007
    text = config_text.render(p)
    assert "[sample]" in text and 'cities = "all"' in text
    assert "event_window = [-4, 3]  # the study's [-5, 5] clipped" in text
    outcome = text[text.index("[outcome]") : text.index("[components]")]
    assert "Candidates (1 numeric column varying" in outcome and "lemp" in outcome


def test_units_key_is_written_when_the_configuration_knows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    study = _study()
    study["panel"] = {**study["panel"], "units": "cities"}
    monkeypatch.setattr(config_text, "_study", lambda: study)
    p = propose(_counties(), "counties.csv")
    raw = tomllib.loads(config_text.render(p))
    assert raw["panel"]["units"] == "any"


def test_deceptive_columns_are_not_mapped() -> None:
    """Near names of a role (deposits for loans, applications for grants, GDP per person for
    GDP), a household-registered population only as the fallback, and columns named like a
    role whose values cannot serve it."""
    base = mp.messy_panel(1).table[["城市代码", "年份"]].copy()
    frame = base.assign(
        **{
            "年末金融机构各项存款余额": "1.5",
            "专利申请数": "3",
            "人均地区生产总值": "40000",
            "户籍人口": "300",
            "城镇人口": "n/a",  # text: not a number
            "did": "1",  # never switches on within a unit
            # treated from 2016 in every other city (a column switching on in the same year
            # in every unit is a period dummy, not a treatment)
            "treat_post": [
                "1" if int(y) >= 2016 and u % 2 else "0"
                for y, u in zip(base["年份"], pd.factorize(base["城市代码"])[0], strict=True)
            ],
        }
    )
    p = propose(frame, "deceptive.csv")
    mapped = _mapping(p)
    assert mapped.get("population") == "户籍人口"
    assert not {"loans", "invention_patents", "gdp", "urban_population"} & set(mapped)
    left = {x.column: x.reason for x in p.left}
    assert "not numbers" in left["城镇人口"]
    assert "never switches" in left["did"]
    assert (p.treatment_source, p.treatment_column) == ("indicator", "treat_post")


# ---- the command line ----------------------------------------------------------------------


def _error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return err


def test_bad_input_is_one_line(
    messy: mp.MessyPanel, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = messy.write_csv(tmp_path / "messy.csv")
    odd = tmp_path / "panel.txt"
    odd.write_text("a,b\n1,2\n", encoding="utf-8")
    err = _error(["init-config", str(odd), "--out", str(tmp_path / "a.toml")], capsys)
    assert "unknown file type '.txt'" in err and "'.csv'" in err
    no_year = messy.table.drop(columns=["年份"])
    no_year.to_csv(tmp_path / "noyear.csv", index=False)
    err = _error(
        ["init-config", str(tmp_path / "noyear.csv"), "--out", str(tmp_path / "b.toml")], capsys
    )
    assert "no year or period column found: looked for a column named 年份" in err
    assert "1900-2100" in err and "integer period index" in err
    out = tmp_path / "c.toml"
    out.write_text("# mine\n", encoding="utf-8")
    err = _error(["init-config", str(data), "--out", str(out)], capsys)
    assert "exists; pass --force" in err and out.read_text(encoding="utf-8") == "# mine\n"
    err = _error(["init-config", str(data), "--out", str(tmp_path / "d.txt")], capsys)
    assert "written as .toml" in err
    assert not (tmp_path / "b.toml").exists() and not (tmp_path / "d.txt").exists()
    assert main(["init-config", str(data), "--out", str(out), "--force"]) == 0
    out_text = capsys.readouterr().out
    assert "units in headers" in out_text and "年末金融机构各项贷款余额(万元): 万元" in out_text
    assert out.read_text(encoding="utf-8").startswith("# Configuration proposed by")


# ---- the full run (after the lead's optional-inputs and units work) ------------------------


@pytest.mark.slow
def test_full_run_on_the_messy_panel(messy: mp.MessyPanel, tmp_path: Path) -> None:
    data = messy.write_csv(tmp_path / "messy.csv")
    config = tmp_path / "generated.toml"
    assert main(["--quiet", "init-config", str(data), "--out", str(config)]) == 0
    small = tomllib.loads(SMALL_DML_TOML)  # small settings: minutes, not an hour
    small |= {"callaway_santanna": {"bootstrap_reps": 99}, "placebo": {"permutations": 99}}
    set_keys(config, small)
    out = tmp_path / "out"
    assert (
        main(["--quiet", "run", "--data", str(data), "--config", str(config), "--out", str(out)])
        == 0
    )
    panel = pd.read_csv(out / "analysis_panel.csv")
    # The study's 266 cities in 2009-2022: the other units and years were dropped.
    assert panel["city_code"].nunique() == 266
    assert (panel["year"].min(), panel["year"].max()) == (2009, 2022)
    log = (out / "run.log").read_text(encoding="utf-8").lower()
    assert "dropped" in log and "not run" in log
    assert "urban_population" in log  # the reason urbanization, a control, is not built
    # The data audit flags every planted anomaly in the study's years, and nothing else.
    flags = pd.read_csv(out / "tables" / "table0b_audit_flags.csv")
    flagged = set(zip(flags["unit"], flags["year"], flags["source"], strict=True))
    planted = {(u, y, a.column) for a in messy.anomalies for u, y in a.cells}
    assert flagged <= planted, sorted(flagged - planted)[:5]
    for a in messy.anomalies:
        assert any((u, y, a.column) in flagged for u, y in a.cells), (a.kind, a.column)
