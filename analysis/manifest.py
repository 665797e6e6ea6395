"""Provenance: versions, seed, input hashes, the resolved configuration, time per stage."""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from analysis.config import REPO_ROOT

PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "pyfixest",
    "doubleml",
    "scikit-learn",
    "diff-diff",
    "matplotlib",
    "rpy2",
)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_state() -> dict[str, Any]:
    """The commit of the code that ran, and whether the work tree had changes."""
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        return {"commit": None, "reason": "not a git checkout"}

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain", "--", "analysis", "rbridge", "data")),
    }


def versions(extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    """Python's version and those of PACKAGES (and of `extra`), None where not installed."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in (*PACKAGES, *extra):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def r_version() -> dict[str, Any]:
    """R's version if R is on the PATH (the run itself uses Python only)."""
    exe = shutil.which("R")
    if exe is None:
        return {
            "R": None,
            "reason": "R is not installed; `python -m analysis crosscheck` reports skipped",
        }
    line = subprocess.run(
        [exe, "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    return {
        "R": line[0] if line else None,
        "used_in_run": False,
        "note": "R runs in `python -m analysis crosscheck`",
    }


def inputs(paths: dict[str, Path]) -> dict[str, dict[str, str]]:
    return {role: {"path": str(p), "sha256": sha256(p)} for role, p in paths.items()}


# Instruction sets that decide numerical paths (numpy's SIMD loops, OpenBLAS's kernels).
CPU_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512dq",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "sve",
    "asimd",
    "neon",
)
# Environment variables that change the numerical path or the threading, recorded when set.
NUMERIC_ENV = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "MKL_CBWR",
    "NPY_DISABLE_CPU_FEATURES",
    "NPY_ENABLE_CPU_FEATURES",
    "PYTHONHASHSEED",
)


def _cpuinfo() -> tuple[str | None, list[str]]:
    """CPU model and the relevant instruction-set flags from /proc/cpuinfo (Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or None, []
    model: str | None = None
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and model is None:
            model = value.strip()
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    return model or platform.processor() or None, [f for f in CPU_FLAGS if f in flags]


def machine() -> dict[str, Any]:
    """Where a run ran, for a reviewer comparing it elsewhere: CPU model, the instruction
    sets that pick numerical paths, core count, numpy's SIMD dispatch, BLAS/LAPACK and the
    thread pools in use (threadpoolctl), and the environment variables that change them."""
    import os

    import numpy as np
    from threadpoolctl import threadpool_info

    model, flags = _cpuinfo()
    try:
        from numpy._core._multiarray_umath import (
            __cpu_baseline__,
            __cpu_dispatch__,
            __cpu_features__,
        )

        simd: dict[str, Any] = {
            "baseline": list(__cpu_baseline__),
            "dispatched_and_found": [f for f in __cpu_dispatch__ if __cpu_features__.get(f)],
        }
    except ImportError:
        simd = {"reason": "numpy does not expose its CPU dispatch"}
    config: dict[str, Any] = dict(np.show_config(mode="dicts") or {})
    build: dict[str, dict[str, Any]] = config.get("Build Dependencies", {})
    pools = [
        {
            k: p.get(k)
            for k in (
                "user_api",
                "internal_api",
                "version",
                "architecture",
                "threading_layer",
                "num_threads",
            )
        }
        | {"library": Path(str(p.get("filepath", ""))).name}
        for p in sorted(threadpool_info(), key=lambda p: str(p.get("filepath")))
    ]
    return {
        "cpu_model": model,
        "instruction_sets": flags,
        "logical_cores": os.cpu_count(),
        "platform": platform.platform(),
        "numpy_simd": simd,
        "blas": {k: build.get(k, {}).get("name") for k in ("blas", "lapack")}
        | {"version": build.get("blas", {}).get("version")},
        "thread_pools": pools,
        "environment": {k: os.environ[k] for k in NUMERIC_ENV if k in os.environ},
    }


def describe_machine(m: dict[str, Any] | None) -> str:
    """One line about a machine record (or why there is none)."""
    if not m:
        return "not recorded (a run made before the manifest recorded its machine)"
    pools: list[dict[str, Any]] = list(m.get("thread_pools", []))
    blas = [
        f"{p.get('internal_api')} {p.get('version')} {p.get('architecture') or ''}".strip()
        + f" x{p.get('num_threads')}"
        for p in pools
        if p.get("user_api") == "blas"
    ]
    env = " ".join(f"{k}={v}" for k, v in m.get("environment", {}).items() if k != "PYTHONHASHSEED")
    return (
        f"{m.get('cpu_model')}; {', '.join(m.get('instruction_sets', [])) or 'no flags'}; "
        f"{m.get('logical_cores')} cores; BLAS {', '.join(blas) or m.get('blas')}"
        + (f"; {env}" if env else "")
    )
