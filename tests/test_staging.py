"""The run's temporary folder: the finished output is readable as the user's umask allows
(not 0700), and leftovers of a killed run are removed by the next run, never those of a
run still going."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from analysis.staging import make_staging, remove_stale


def test_the_folder_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        tmp = make_staging(tmp_path / "output")
    finally:
        os.umask(old)
    assert tmp.stat().st_mode & 0o777 == 0o755


def test_leftovers_of_a_dead_run_go_and_a_live_runs_stay(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(dead.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        stale = tmp_path / f".output.tmp-{dead_pid}-abc"
        running = tmp_path / f".output.tmp-{live.pid}-def"
        old = tmp_path / f".output.old-{dead_pid}"
        other = tmp_path / f".other.tmp-{dead_pid}-x"
        for folder in (stale, running, old, other):
            folder.mkdir()
            (folder / "estimates.csv").write_text("x\n", encoding="utf-8")
        removed = remove_stale(tmp_path / "output")
        assert sorted(removed) == sorted([stale, old])
        assert running.exists() and other.exists() and not stale.exists()
    finally:
        live.kill()
