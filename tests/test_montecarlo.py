"""The Monte Carlo (`python -m analysis montecarlo`): summary statistics against hand-computed
values, true values of aggregated quantities, the chunk store's plan, bad input; and, marked
slow, byte-identical results serially, on a LocalCluster, on a real Dask scheduler with two
workers started here, and after an interruption or a larger --reps (tiny estimator subset)."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.errors import InputError
from analysis.estimates import ModelInfo
from analysis.montecarlo.acceptance import evaluate
from analysis.montecarlo.replicate import replication_seed
from analysis.montecarlo.store import DesignStore
from analysis.montecarlo.summary import headline, summarize
from analysis.montecarlo.targets import PanelFacts, honest_target, target
from analysis.simulation.designs import DESIGNS

REPO = Path(__file__).resolve().parents[1]
TINY = ["--design", "study", "--estimators", "baseline,placebo", "--placebo-permutations", "19"]


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    base = {
        "design": "d",
        "estimator": "e",
        "model": "m",
        "term": "t",
        "failure": "",
        "std_error": np.nan,
        "p_value": np.nan,
        "conf_low": np.nan,
        "conf_high": np.nan,
        "truth": np.nan,
    }
    return pd.DataFrame([{**base, "rep": i, **r} for i, r in enumerate(rows)])


def test_summary_statistics_match_hand_computed_values() -> None:
    est, se, p = [1.0, 2.0, 3.0, 6.0], [1.0, 1.0, 2.0, 2.0], [0.5, 0.04, 0.2, 0.001]
    rows = [
        {
            "estimate": e,
            "std_error": s,
            "p_value": q,
            "truth": 2.0,
            "conf_low": e - 1.96 * s,
            "conf_high": e + 1.96 * s,
        }
        for e, s, q in zip(est, se, p, strict=True)
    ]
    rows.append({"estimate": np.nan, "failure": "ValueError: boom"})  # a failed replication
    tests = [
        {"term": "F", "estimate": 3.0, "p_value": 0.01},
        {"term": "F", "estimate": 1.0, "p_value": 0.2},
    ]
    s = summarize(_frame(rows + tests), alpha=0.05).set_index("term")
    m = s.loc["t"]
    # errors -1, 0, 1, 4: mean 1; squared deviations 4, 1, 0, 9 (sum 14, n - 1 = 3)
    assert m["n"] == 4
    assert m["bias"] == pytest.approx(1.0)
    assert m["sd"] == pytest.approx(math.sqrt(14 / 3))
    assert m["bias_mcse"] == pytest.approx(math.sqrt(14 / 3) / 2)
    assert m["rmse"] == pytest.approx(math.sqrt(18 / 4))  # (1 + 0 + 1 + 16) / 4
    assert m["mean_se"] == pytest.approx(1.5)
    assert m["se_ratio"] == pytest.approx(1.5 / math.sqrt(14 / 3))
    # intervals [-0.96, 2.96], [0.04, 3.96], [-0.92, 6.92] hold 2; [2.08, 9.92] does not
    assert m["coverage"] == pytest.approx(0.75)
    assert m["coverage_mcse"] == pytest.approx(math.sqrt(0.75 * 0.25 / 4))
    assert m["rejection"] == pytest.approx(0.5)  # p 0.04 and 0.001
    assert m["rejection_mcse"] == pytest.approx(0.25)
    assert m["width"] == pytest.approx(2 * 1.96 * 1.5)
    f = s.loc["F"]  # a test: no truth, only its rejection rate
    assert f["n"] == 2 and np.isnan(f["bias"]) and np.isnan(f["coverage"])
    assert f["rejection"] == pytest.approx(0.5)


def test_rejection_of_a_set_without_p_value_is_zero_outside_the_set() -> None:
    rows = [
        {"estimate": 1.0, "truth": 0.0, "conf_low": lo, "conf_high": hi}
        for lo, hi in ((0.1, 2.0), (-0.5, 2.0), (-3.0, -0.2), (-1.0, 1.0))
    ]
    s = summarize(_frame(rows), alpha=0.05).iloc[0]
    assert s["rejection"] == pytest.approx(0.5)
    assert s["coverage"] == pytest.approx(0.5)  # 0 inside the 2nd and 4th


def test_acceptance_flags_bias_coverage_and_size() -> None:
    cols = {
        "estimator": "e",
        "truth": 0.0,
        "mean": 0.0,
        "bias_mcse": 0.0,
        "rmse": 1.0,
        "mean_se": 1.0,
        "se_ratio": 1.0,
        "coverage_mcse": 0.0,
        "rejection_mcse": 0.0,
        "width": 1.0,
    }
    summary = pd.DataFrame(
        [
            {
                **cols,
                "design": "study",
                "model": "cs_simple",
                "term": "ATT",
                "n": 500,
                "bias": 0.05,
                "sd": 1.0,
                "coverage": 0.95,
                "rejection": 1.0,
            },
            {
                **cols,
                "design": "study",
                "model": "dml_plr",
                "term": "treat_post",
                "n": 500,
                "bias": 0.2,
                "sd": 1.0,
                "coverage": 0.90,
                "rejection": 1.0,
            },
            {
                **cols,
                "design": "no_effect",
                "model": "baseline_twfe",
                "term": "treat_post",
                "n": 200,
                "bias": 0.0,
                "sd": 1.0,
                "coverage": 0.95,
                "rejection": 0.09,
            },
        ]
    )
    out = evaluate(summary, 0.95).set_index(["quantity", "criterion"])["status"]
    assert out["cs_simple/ATT", "|bias| / SD"] == "pass"
    assert out["cs_simple/ATT", "coverage"] == "pass"
    assert out["dml_plr/treat_post", "|bias| / SD"] == "fail"
    assert out["dml_plr/treat_post", "coverage"] == "fail"  # 0.90 < 0.95 - 2 x 0.0097
    assert out["baseline_twfe/treat_post", "rejection rate"] == "fail"  # 0.05 +/- 0.031


def _row(model: str, term: str, **facts: object) -> object:
    info = ModelInfo(
        exhibit="x",
        model=model,
        estimator="x",
        engine="x",
        outcome="resilience",
        n_obs=1,
        n_clusters=1,
        vcov="x",
        ssc="x",
        formula="x",
        **facts,
    )  # type: ignore[arg-type]
    return info.row(term, 0.0, 1.0)


TRUTH = {
    "resilience": {
        "att": 0.5,
        "by_event_time": {"0": 1.0, "1": 2.0, "2": 4.0},
        "by_cohort": {"2015": 3.0, "2016": 1.5},
        "by_cohort_year": {
            "2015": {"2015": 1.0, "2016": 2.0, "2017": 4.0},
            "2016": {"2016": 1.0, "2017": 2.0},
        },
    },
    "mechanisms": {},
}


def test_true_values_of_aggregations_and_binned_end_points() -> None:
    facts = PanelFacts({2015: 1, 2016: 3}, {0: 4, 1: 4, 2: 1}, (-1, 1), (2014, 2015, 2016, 2017))
    t = lambda model, term, **f: target(_row(model, term, **f), TRUTH, facts, [0, 1])  # type: ignore[arg-type]  # noqa: E731
    assert t("cs_dynamic", "overall", aggregation="dynamic") == pytest.approx((1 + 2 + 4) / 3)
    assert t("cs_group", "overall", aggregation="group") == pytest.approx((3 * 1 + 1.5 * 3) / 4)
    # years 2015: cohort 2015 only (1.0); 2016: (2 x 1 + 1 x 3) / 4; 2017: (4 x 1 + 2 x 3) / 4
    assert t("cs_calendar", "overall", aggregation="calendar") == pytest.approx(
        (1.0 + 5 / 4 + 10 / 4) / 3
    )
    assert t("cs_attgt", "attgt::2016:2015") == 0.0
    assert t("cs_attgt", "attgt::2016:2017") == 2.0
    # the TWFE event study's end point 1 bins event times 1 and 2 (4 and 1 city-years)
    assert t("event_study", "event_time::1") == pytest.approx((2 * 4 + 4 * 1) / 5)
    assert t("sunab", "event_time::1") == 2.0  # unbinned
    assert t("sunab", "event_time::-3") == 0.0
    honest = honest_target(TRUTH["resilience"], facts, [0, 1])
    assert honest == pytest.approx((1.0 + (2 * 4 + 4 * 1) / 5) / 2)
    assert t("x", "Mbar::1", estimand="sensitivity") == pytest.approx(honest)


def test_chunks_lie_on_a_fixed_grid_and_resume_fills_the_gaps(tmp_path: Path) -> None:
    store = DesignStore(tmp_path)
    tmp_path.mkdir(exist_ok=True)
    for name in ("reps_000000_000003.parquet", "reps_000003_000004.parquet"):
        (tmp_path / name).write_bytes(b"")
    assert store.done() == {0, 1, 2, 3}
    assert store.plan(10, 3) == [(4, 6), (6, 9), (9, 10)]
    assert store.plan(3, 3) == []
    (tmp_path / "reps_000002_000005.parquet").write_bytes(b"")
    with pytest.raises(Exception, match="overlap"):
        store.done()


def _stored(out: Path, tag: str, reps: range, estimators: tuple[str, ...]) -> None:
    """A store of fabricated rows (one per replication and estimator)."""
    from analysis.montecarlo.replicate import COLUMNS, Chunk, ChunkResult, typed

    rows = [
        {c: "" for c in COLUMNS}
        | {
            "design": "study",
            "rep": r,
            "seed": r,
            "row": i,
            "estimator": e,
            "model": e,
            "term": "ATT",
            "estimate": r + i / 10,
            "std_error": 1.0,
            "p_value": 0.5,
            "conf_low": -1.0,
            "conf_high": 1.0,
            "df": np.inf,
            "truth": 0.0,
        }
        for r in reps
        for i, e in enumerate(estimators)
    ]
    store = DesignStore(out / "chunks" / "study" / tag)
    store.open({"design": "study", "tag": tag})
    chunk = Chunk("study", reps.start, reps.stop, 1, estimators, None, None)  # type: ignore[arg-type]
    store.write(ChunkResult(chunk, typed(pd.DataFrame(rows)), (), {}))


def test_stores_of_two_estimator_sets_merge_without_duplicates(tmp_path: Path) -> None:
    from analysis.montecarlo.outputs import collect

    _stored(tmp_path, "did", range(0, 4), ("baseline", "placebo"))
    _stored(tmp_path, "all", range(0, 2), ("baseline", "placebo", "dml_plr"))
    frame = collect(tmp_path)
    assert frame.groupby("model")["rep"].nunique().to_dict() == {
        "baseline": 4,
        "placebo": 4,
        "dml_plr": 2,
    }
    assert not frame.duplicated(["rep", "model"]).any()
    assert list(frame["model"][:3]) == ["baseline", "placebo", "dml_plr"]  # registry order


def test_replication_seed_depends_on_base_seed_and_replication_only() -> None:
    seeds = {replication_seed(s, r) for s in (1, 2) for r in range(50)}
    assert len(seeds) == 100
    assert replication_seed(20240527, 0) == 824335131  # the rule's value, recorded in outputs


def test_estimator_sets_expand_in_registry_order() -> None:
    from analysis.montecarlo.estimators import ESTIMATORS, GROUPS
    from analysis.montecarlo.run import names

    assert names("dml_plr,did", ESTIMATORS, (), GROUPS)[:2] == ("baseline", "event_study")
    assert names("dml_plr,did", ESTIMATORS, (), GROUPS)[-1] == "dml_plr"
    assert names("all", ESTIMATORS, (), GROUPS) == tuple(ESTIMATORS)
    assert names("twfe", ESTIMATORS, (), GROUPS) == ("twfe",)  # refused later by Request


def test_headline_quantities() -> None:
    assert headline("cs_simple", "ATT") and headline("event_study", "joint_pre_F")
    assert headline("hetero_east_coastal_interaction", "treat_post:east_coastal")
    assert not headline("hetero_east_coastal_interaction", "treat_post")
    assert not headline("cs_attgt", "attgt::2016:2017")


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["montecarlo", "--reps", "1", "--design", "stdy", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --design: unknown design 'stdy'") and "'study'" in err
    assert "\n" not in err
    assert main(["montecarlo", "--reps", "1", "--estimators", "twfe", "--out", str(tmp_path)]) == 2
    assert "allowed: 'baseline'" in capsys.readouterr().err


def test_a_resume_with_other_settings_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    DesignStore(tmp_path / "chunks" / "study" / "all").open({"design": "study", "base_seed": 1})
    assert main(["montecarlo", "--reps", "1", "--workers", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds replications made with other settings" in err and "base_seed" in err


def test_designs_are_documented() -> None:
    import analysis.simulation.designs as designs

    for name, d in DESIGNS.items():
        assert f"`{name}`" in (designs.__doc__ or "")
        assert d.dgp(7).seed == 7


# ---- byte-identical results (slow: real processes) ----------------------------------------


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONHASHSEED": "0",
        "PYTHONWARNINGS": "ignore",
    }


def _cmd(out: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "analysis",
        "--quiet",
        "montecarlo",
        "--out",
        str(out),
        *TINY,
        *args,
    ]


def _mc(out: Path, *args: str) -> None:
    done = subprocess.run(
        _cmd(out, *args), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _outputs(folder: Path, chunks: bool = False) -> dict[str, bytes]:
    """Every output but manifest.json (seconds, cluster); the chunk files when asked."""
    files = [folder / "montecarlo.csv", folder / "report.html"]
    files += sorted((folder / "tables").iterdir()) + sorted((folder / "figures").iterdir())
    if chunks:
        files += sorted((folder / "chunks" / "study").glob("*/reps_*.parquet"))
    return {str(p.relative_to(folder)): p.read_bytes() for p in files}


# The tests that compare with it share one xdist worker, so that it is run once.
@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 replications in one process, no Dask, chunks of 2."""
    out = tmp_path_factory.mktemp("mc") / "serial"
    _mc(out, "--reps", "10", "--workers", "0", "--chunk-size", "2")
    return out


@pytest.mark.slow
@pytest.mark.xdist_group("montecarlo_serial")
def test_serial_run_has_ten_replications(serial: Path) -> None:
    frame = pd.read_csv(serial / "montecarlo.csv")
    assert sorted(frame["rep"].unique()) == list(range(10))
    assert frame["seed"].nunique() == 10 and (frame["failure"].isna()).all()
    twfe = frame[frame["model"] == "baseline_twfe"]
    assert len(twfe) == 10 and twfe["truth"].gt(0).all()


@pytest.mark.slow
@pytest.mark.xdist_group("montecarlo_serial")
def test_local_cluster_equals_serial_byte_for_byte(serial: Path, tmp_path: Path) -> None:
    """2 workers, chunks of 3 (another partition, completion order left to Dask)."""
    _mc(tmp_path / "local", "--reps", "10", "--workers", "2", "--chunk-size", "3")
    assert _outputs(tmp_path / "local") == _outputs(serial)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dask_process(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "dask"
    return subprocess.Popen(
        [str(exe), *args], cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _worker(address: str, cwd: Path, pinned: bool) -> subprocess.Popen[bytes]:
    extra = ["--preload-nanny", "analysis.montecarlo.dask_preload"] if pinned else []
    return _dask_process(
        "worker",
        address,
        "--nthreads",
        "1",
        "--nworkers",
        "1",
        "--no-dashboard",
        "--host",
        "127.0.0.1",
        *extra,
        cwd=cwd,
    )


def _wait_for(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout="60s") as client:
        deadline = time.time() + 180
        while len(client.scheduler_info()["workers"]) != n and time.time() < deadline:
            time.sleep(0.5)
        assert len(client.scheduler_info()["workers"]) == n


@pytest.mark.slow
@pytest.mark.xdist_group("montecarlo_serial")
def test_dask_scheduler_and_two_workers_give_the_same_bytes(serial: Path, tmp_path: Path) -> None:
    """`dask scheduler` and `dask worker` processes on loopback, reached by --scheduler. A
    worker whose Nanny gives it Dask's own PYTHONHASHSEED is refused (one line, exit 2); two
    workers started with the project's Nanny preload give the serial run's bytes."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [
        _dask_process(
            "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", cwd=tmp_path
        )
    ]
    try:
        procs.append(_worker(address, tmp_path, pinned=False))
        _wait_for(address, 1)
        refused = subprocess.run(
            _cmd(tmp_path / "refused", "--reps", "2", "--scheduler", address),
            cwd=REPO,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert refused.returncode == 2
        assert "hashes strings differently" in refused.stderr and "Traceback" not in refused.stderr
        procs[1].terminate()
        procs[1].wait(timeout=60)
        _wait_for(address, 0)
        procs += [_worker(address, tmp_path, pinned=True) for _ in range(2)]
        _wait_for(address, 2)
        _mc(tmp_path / "remote", "--reps", "10", "--scheduler", address, "--chunk-size", "2")
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            p.wait(timeout=60)
    assert _outputs(tmp_path / "remote", chunks=True) == _outputs(serial, chunks=True)


@pytest.mark.slow
@pytest.mark.xdist_group("montecarlo_serial")
def test_interrupted_run_resumes_to_the_same_files(serial: Path, tmp_path: Path) -> None:
    out = tmp_path / "resumed"
    proc = subprocess.Popen(
        _cmd(out, "--reps", "10", "--workers", "0", "--chunk-size", "2"),
        cwd=REPO,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    folder = out / "chunks" / "study" / "baseline+placebo"
    deadline = time.time() + 600
    while len(list(folder.glob("reps_*.parquet"))) < 2 and time.time() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=120) != 0
    stopped = len(list(folder.glob("reps_*.parquet")))
    assert 2 <= stopped < 5 and not (out / "montecarlo.csv").exists()
    _mc(out, "--reps", "10", "--workers", "0", "--chunk-size", "2")
    assert _outputs(out, chunks=True) == _outputs(serial, chunks=True)


@pytest.mark.slow
@pytest.mark.xdist_group("montecarlo_serial")
def test_a_larger_reps_adds_to_what_exists(serial: Path, tmp_path: Path) -> None:
    out = tmp_path / "grown"
    _mc(out, "--reps", "3", "--workers", "0", "--chunk-size", "4")
    assert pd.read_csv(out / "montecarlo.csv")["rep"].nunique() == 3
    _mc(out, "--reps", "10", "--workers", "0", "--chunk-size", "4")
    names = sorted(p.name for p in (out / "chunks" / "study").glob("*/reps_*.parquet"))
    assert names == [
        "reps_000000_000003.parquet",
        "reps_000003_000004.parquet",
        "reps_000004_000008.parquet",
        "reps_000008_000010.parquet",
    ]
    assert _outputs(out) == _outputs(serial)


def test_reps_per_design_parse_and_refuse_bad_text(capsys: pytest.CaptureFixture[str]) -> None:
    from analysis.montecarlo.run import parse_reps

    assert parse_reps("200") == (200, ())
    assert parse_reps("200, study=500") == (200, (("study", 500),))
    for text, said in (
        ("study=500", "give the count of the other designs too"),
        ("200,stdy=5", "unknown design 'stdy'"),
        ("200,study=many", "'study=many' is not a whole number"),
        ("200,300", "two counts for every design"),
        ("200,study=5,study=6", "design 'study' is given twice"),
    ):
        with pytest.raises(InputError, match=said):
            parse_reps(text)
    assert main(["montecarlo", "--reps", "2,constant=0", "--design", "constant"]) == 2
    assert "--reps constant=0: must be at least 1" in capsys.readouterr().err
    assert main(["montecarlo", "--reps", "2,constant=3"]) == 2
    assert "design 'constant' is not run" in capsys.readouterr().err


@pytest.mark.slow
def test_reps_per_design_run_that_many(tmp_path: Path) -> None:
    out = tmp_path / "mixed"
    _mc(out, "--reps", "1,constant=2", "--design", "study,constant", "--workers", "0")
    counts = pd.read_csv(out / "montecarlo.csv").groupby("design")["rep"].nunique()
    assert counts.to_dict() == {"constant": 2, "study": 1}
    assert json.loads((out / "manifest.json").read_text())["replications"] == {
        "constant": 2,
        "study": 1,
    }


@pytest.mark.slow
def test_a_rerun_that_runs_nothing_keeps_the_record_of_the_run(tmp_path: Path) -> None:
    out = tmp_path / "rerun"
    _mc(out, "--reps", "1", "--design", "constant", "--workers", "0")
    first = json.loads((out / "manifest.json").read_text())
    _mc(out, "--reps", "1", "--design", "constant", "--workers", "0", "--chunk-size", "5")
    again = json.loads((out / "manifest.json").read_text())
    assert first["seconds"]["replications_run_by_this_command"] == 1
    for key in ("command", "git", "cluster"):
        assert again[key] == first[key]
    assert again["seconds"] == first["seconds"]
