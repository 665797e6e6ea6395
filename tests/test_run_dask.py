"""`python -m analysis run --workers K | --scheduler ADDRESS`: the DML cross-fitting on Dask
(analysis/cluster.py) gives the local run's bytes, whatever the workers.

- the pool itself, on an in-process cluster: the same predictions in the same order;
- the DML exhibits of the fast configuration (tests/reference/golden/config.toml), run once
  locally (`local_dml`), against the same exhibits
  - on a LocalCluster of two (`--workers 2`);
  - slow: through `dask scheduler` and two `dask worker` processes started from the command
    line, as on two machines; then on the same cluster with one worker killed while it runs
    jobs: the run finishes with the same bytes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import Lasso, LinearRegression

from analysis.estimators.crossfit import Job, NuisanceCache, crossfit
from tests._regen import GOLDEN

REPO = Path(__file__).resolve().parents[1]
CONFIG = GOLDEN / "config.toml"
DML = "dml_plr,dml_did,mechanisms"  # cross-fitting jobs, and the mediation bootstrap's blocks


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONHASHSEED": "0",
        "PYTHONWARNINGS": "ignore",
    }


def _run(out: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "analysis", "--quiet", "run", "--config", str(CONFIG)]
    done = subprocess.run(
        [*cmd, "--out", str(out), *args],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _jobs() -> list[Job]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(300, 4))
    y = x @ np.array([1.0, -0.5, 0.0, 0.2]) + rng.normal(size=300)
    folds = [(np.setdiff1d(np.arange(300), t), t) for t in np.array_split(np.arange(300), 3)]
    x2 = x[:, :2].copy()
    return [
        Job(Lasso(alpha=0.05), x, y, folds, x_key="a"),
        Job(LinearRegression(), x, y, folds, x_key="a"),
        Job(LinearRegression(), x2, y, folds[::-1], x_key="b"),
        Job(LinearRegression(), x2, y, folds[::-1], x_key="b"),  # a repeat: fitted once
    ]


def test_dask_pool_gives_the_local_predictions_in_order() -> None:
    from distributed import Client

    from analysis.cluster import DaskPool

    local = crossfit(_jobs())
    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=":0") as c:
        cache = NuisanceCache(pool=DaskPool(c))
        remote = crossfit(_jobs(), cache=cache)
    assert cache.fitted == 3 and cache.reused == 1
    for (a, _), (b, _) in zip(local, remote, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="session")
def local_dml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DML exhibits of the fast configuration, run once without Dask."""
    out = tmp_path_factory.mktemp("dml") / "local"
    _run(out, "--only", DML)
    return out


def _same_outputs(a: Path, b: Path) -> None:
    names = ["estimates.csv", "analysis_panel.csv"]
    names += sorted(f"tables/{p.name}" for p in (b / "tables").glob("*.csv"))
    assert len(names) > 2
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def _start_environment() -> bytes:
    with open("/proc/self/environ", "rb") as f:  # the environment the process started with
        return f.read()


def test_workers_start_with_glibcs_memory_trimming() -> None:
    """The Nanny preload removes Dask's MALLOC_TRIM_THRESHOLD_=65536 before the worker
    process starts (it made numpy's temporaries fresh mappings: 3.4x slower blocks) and pins
    the hash seed."""
    from distributed import Client

    from analysis.cluster import local_cluster

    with local_cluster(1) as cluster, Client(cluster) as client:
        (env,) = client.run(_start_environment).values()
    assert b"PYTHONHASHSEED=0\0" in env
    assert b"MALLOC_TRIM_THRESHOLD_=65536" not in env


@pytest.mark.slow
@pytest.mark.xdist_group("dask_run")
def test_workers_give_the_local_runs_bytes(local_dml: Path, tmp_path: Path) -> None:
    """On a LocalCluster of two."""
    _run(tmp_path / "dask", "--only", DML, "--workers", "2")
    _same_outputs(tmp_path / "dask", local_dml)
    import json

    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["cluster"] == {"address": "", "kind": "local", "workers": 2}


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--workers", "-1"], "--workers -1"),
        (["--scheduler", "tcp://127.0.0.1:9"], "cannot connect within 2s"),
    ],
)
def test_bad_cluster_options_are_one_line_errors(
    tmp_path: Path, extra: list[str], words: str
) -> None:
    cmd = [sys.executable, "-m", "analysis", "run", "--out", str(tmp_path / "x")]
    env = {**_env(), "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    done = subprocess.run(
        [*cmd, *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stderr
    assert words in done.stderr and "Traceback" not in done.stderr


# ---- separate processes, as on a set of machines -------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _dask(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).parent / "dask"
    return subprocess.Popen(
        [str(exe), *args], cwd=cwd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _worker(address: str, cwd: Path, nanny: bool = True) -> subprocess.Popen[bytes]:
    how = ["--preload-nanny", "analysis.dask_preload"] if nanny else ["--no-nanny"]
    common = ["--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"]
    return _dask("worker", address, *common, *how, cwd=cwd)


def _wait_for(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout="60s") as client:
        deadline = time.time() + 180
        while len(client.scheduler_info()["workers"]) != n and time.time() < deadline:
            time.sleep(0.5)
        assert len(client.scheduler_info()["workers"]) == n


def _scheduler(cwd: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = _free_port()
    proc = _dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", cwd=cwd)
    return f"tcp://127.0.0.1:{port}", proc


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
    for p in procs:
        p.wait(timeout=60)


@pytest.mark.slow
@pytest.mark.xdist_group("dask_run")
def test_scheduler_and_two_worker_processes_then_one_killed(
    local_dml: Path, tmp_path: Path
) -> None:
    """A `dask scheduler` and two `dask worker` processes on loopback, reached by --scheduler
    as a cluster of other machines is: the local run's bytes. Then the same run again, and
    once the worker started without a Nanny (so that, killed, it stays dead) runs
    cross-fitting jobs it is killed (SIGKILL): its jobs are run again on the other, the run
    finishes with the local run's bytes."""
    from distributed import Client

    address, scheduler = _scheduler(tmp_path)
    procs = [scheduler]
    try:
        victim = _worker(address, tmp_path, nanny=False)
        procs += [victim, _worker(address, tmp_path)]
        _wait_for(address, 2)
        _run(tmp_path / "remote", "--only", DML, "--scheduler", address)
        _same_outputs(tmp_path / "remote", local_dml)

        cmd = [sys.executable, "-m", "analysis", "--quiet", "run", "--config", str(CONFIG)]
        out = tmp_path / "killed"
        run = subprocess.Popen(
            [*cmd, "--out", str(out), "--only", DML, "--scheduler", address],
            cwd=REPO,
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        procs.append(run)
        with Client(address, timeout="60s") as client:
            deadline, killed = time.time() + 600, False
            while not killed and time.time() < deadline and run.poll() is None:
                busy = client.processing()
                pids = client.run(os.getpid)
                for worker, tasks in busy.items():
                    jobs = [t for t in tasks if "crossfit-" in t and "crossfit-data-" not in t]
                    if pids.get(worker) == victim.pid and jobs:
                        os.kill(victim.pid, signal.SIGKILL)
                        killed = True
                time.sleep(0.05)
        assert killed, "the victim never ran a cross-fitting job"
        _, err = run.communicate(timeout=1200)
        assert run.returncode == 0, err.decode()[-3000:]
    finally:
        _stop(procs)
    _same_outputs(out, local_dml)
