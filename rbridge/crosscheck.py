"""`python -m analysis crosscheck [--out DIR]`: the key estimates of a finished run,
re-estimated in R from the same analysis_panel.csv and specification, side by side.

Writes DIR/crosscheck.csv (check, python_value, r_value, abs_diff, tolerance, status,
r_engine, reason), adds a `crosscheck` section (R and package versions, engines, counts) to
DIR/manifest.json and appends R's console output to DIR/run.log. Returns 0 when every check
passes or is skipped with its reason; raises CrosscheckFailure (exit status 3), naming the
checks, when any is outside its tolerance or R failed on it.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.config import load_config
from analysis.errors import CrosscheckFailure, InputError
from rbridge.engines import ENGINES, PREFERENCE, Engine, RResult, label
from rbridge.inputs import attach_columns, attached
from rbridge.matrix import Check, ModelPlan
from rbridge.packages import MINIMUM, VALIDATED, version_tuple
from rbridge.planners import plan
from rbridge.session import RError, RInfo, RSession, chatter, detect, rpy2_log
from rbridge.tolerances import TOLERANCES, tolerance

COLUMNS = (
    "check",
    "python_value",
    "r_value",
    "abs_diff",
    "tolerance",
    "status",
    "r_engine",
    "reason",
)
REQUIRED = (
    "model",
    "engine",
    "outcome",
    "term",
    "estimate",
    "std_error",
    "n_obs",
    "n_clusters",
    "vcov",
    "ssc",
    "formula",
    "sample",
)
NO_ENGINE = "none"
log = logging.getLogger("rbridge")


@dataclass(frozen=True)
class Run:
    """A finished run as the cross-check reads it."""

    folder: Path
    estimates: pd.DataFrame
    panel: pd.DataFrame
    manifest: dict[str, Any] | None
    mechanisms: list[str]
    moderators: list[str]
    seed: int | None = None
    level: float = 0.95
    attached: tuple[str, ...] = ()  # columns the bridge attached to analysis_panel.csv


def load_run(folder: Path) -> Run:
    """estimates.csv, analysis_panel.csv and (if there) manifest.json of a run folder."""
    paths = {name: folder / name for name in ("estimates.csv", "analysis_panel.csv")}
    for path in paths.values():
        if not path.is_file():
            raise InputError(
                f"{path}: not found; run `python -m analysis run --out {folder}` first"
            )
    estimates = pd.read_csv(
        paths["estimates.csv"], keep_default_na=False, na_values=["", "nan", "NaN"]
    )
    missing = [c for c in REQUIRED if c not in estimates.columns]
    if missing:
        raise InputError(f"{paths['estimates.csv']}: missing columns {', '.join(missing)}")
    for column in ("model", "term", "engine", "formula", "vcov", "ssc", "sample", "outcome"):
        estimates[column] = estimates[column].fillna("").astype(str)
    raw = pd.read_csv(paths["analysis_panel.csv"])
    panel = attach_columns(raw)
    manifest = None
    manifest_path = folder / "manifest.json"
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    config = (manifest or {}).get("config", {})
    model_cfg = config.get("model")
    if model_cfg is None:
        log.info("crosscheck: no configuration in manifest.json; using data/study.toml")
        cfg = load_config()
        mechanisms, moderators = list(cfg.model.mechanisms), list(cfg.model.moderators)
        seed, level = None, cfg.inference.level
    else:
        mechanisms, moderators = list(model_cfg["mechanisms"]), list(model_cfg["moderators"])
        seed = (manifest or {}).get("seed", config.get("seed"))
        level = float(config.get("inference", {}).get("level", 0.95))
    extra = tuple(attached(panel, raw))
    return Run(folder, estimates, panel, manifest, mechanisms, moderators, seed, level, extra)


def run_plans(run: Run) -> list[ModelPlan]:
    """The check matrix of a finished run (shared with `export-r`)."""
    file = str(run.folder / "estimates.csv")
    return plan(run.estimates, run.panel, run.mechanisms, run.moderators, file, run.seed, run.level)


def _row(
    check: str, py: float, r: float, tol: float, status: str, engine: str, reason: str
) -> dict[str, Any]:
    diff = abs(py - r) if np.isfinite(py) and np.isfinite(r) else np.nan
    return dict(zip(COLUMNS, (check, py, r, diff, tol, status, engine, reason), strict=True))


def _skip(check: str, py: float, reason: str) -> dict[str, Any]:
    return _row(check, py, np.nan, np.nan, "skipped", NO_ENGINE, reason)


def r_value(check: Check, result: RResult) -> float | None:
    """R's number for a check, or None when R has no counterpart."""
    return result.get(check.r_key, check.quantity)


def requirement_problem(check: Check, info: RInfo) -> str:
    """Why a check cannot be compared with the package version that ran ('' if it can)."""
    needs = check.needs
    if needs is None:
        return ""
    version = info.packages.get(needs.package) or ""
    if version_tuple(version) < version_tuple(needs.version):
        return f"{needs.reason} (R {needs.package} {version} ran)"
    return ""


def verdict(py: float, r: float, tol: float, scale: float = 0.0) -> tuple[str, str]:
    """pass or fail, and why it failed: |py - r| <= tol x max(|py|, |r|, scale) (relative,
    so a check holds at any scale of the outcome); two NaNs agree (e.g. no breakdown value in
    the search range on either side)."""
    if np.isnan(py) and np.isnan(r):
        return "pass", ""
    diff = abs(py - r)
    bound = tol * max(abs(py), abs(r), abs(scale)) if np.isfinite(diff) else np.nan
    if np.isfinite(diff) and diff <= bound:
        return "pass", ""
    if not np.isfinite(diff):
        return "fail", "not finite"
    return "fail", f"|diff| {diff:.3g} > {tol:g} x {max(abs(py), abs(r), abs(scale)):.3g}"


def compare(
    checks: tuple[Check, ...], result: RResult, engine: Engine, tag: str, info: RInfo
) -> list[dict[str, Any]]:
    rows = []
    for c in checks:
        tol = tolerance(c.tolerance or engine.family, c.quantity).value
        skip = c.skip or requirement_problem(c, info)
        if skip:
            rows.append(_skip(c.name, c.python_value, skip))
            continue
        r = r_value(c, result)
        if r is None and np.isnan(c.python_value):
            # neither side estimates it: R drops the term, Python reports it as NaN (e.g. a
            # lead collinear with the fixed effects when no unit is never treated)
            r = np.nan
        if r is None:
            if engine.missing == "skip":
                rows.append(_skip(c.name, c.python_value, f"{engine.title} reports no '{c.r_key}'"))
            else:
                rows.append(
                    _row(
                        c.name, c.python_value, np.nan, tol, "fail", tag, "R's fit has no such term"
                    )
                )
            continue
        status, reason = verdict(c.python_value, r, tol, c.scale)
        rows.append(_row(c.name, c.python_value, r, tol, status, tag, reason))
    return rows


def choose(p: ModelPlan, info: RInfo) -> tuple[Engine | None, str]:
    """The first engine that can run the plan, or None and why none can."""
    if not info.available:
        return None, info.reason
    problems = []
    for name in PREFERENCE[p.kind]:
        engine = ENGINES[name]
        problem = engine.unavailable(info) or engine.unsupported(p.spec)
        if problem is None:
            return engine, ""
        problems.append(f"{name}: {problem}")
    return None, "; ".join(problems)


def execute(
    plans: list[ModelPlan], info: RInfo, panel: pd.DataFrame
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Run every plan; returns the crosscheck rows and the engine used per model."""
    rows: list[dict[str, Any]] = []
    used: dict[str, str] = {}
    session: RSession | None = None
    cache: dict[tuple[str, Any], RResult] = {}
    for p in plans:
        if p.skip:
            rows.append(_skip(p.model, np.nan, p.skip))
            continue
        engine, why = choose(p, info)
        if engine is None:
            rows += [_skip(c.name, c.python_value, why) for c in p.checks]
            continue
        tag = label(engine, info)
        used[p.model] = tag
        key = (engine.name, p.spec)
        try:
            if key not in cache:
                session = session or RSession(panel)
                t0 = time.perf_counter()
                cache[key] = engine.run(session, p.spec, p.model, p.inputs)
                log.info("crosscheck: %s with %s (%.2f s)", p.model, tag, time.perf_counter() - t0)
        except RError as exc:
            log.error("crosscheck: %s", exc)
            rows += [
                _row(c.name, c.python_value, np.nan, np.nan, "fail", tag, str(exc))
                for c in p.checks
            ]
            continue
        rows += compare(p.checks, cache[key], engine, tag, info)
    return rows, used


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _manifest_section(
    info: RInfo, used: dict[str, str], table: pd.DataFrame, seconds: float
) -> dict[str, Any]:
    counts = {s: int((table["status"] == s).sum()) for s in ("pass", "fail", "skipped")}
    return {
        "r": info.to_dict(),
        "validated_versions": VALIDATED,
        "minimum_versions": MINIMUM,
        "engines": used,
        "tolerances": {
            f"{e}/{q}": {"value": t.value, "reason": t.reason} for (e, q), t in TOLERANCES.items()
        },
        "counts": counts,
        "seconds": round(seconds, 3),
    }


def main(out_dir: Path) -> int:
    """The cross-check of the run in `out_dir`; 0 when nothing failed (else raises)."""
    t0 = time.perf_counter()
    folder = Path(out_dir)
    run = load_run(folder)
    handler = logging.FileHandler(folder / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    for logger in (log, chatter, rpy2_log):
        logger.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        log.info("crosscheck of %s", folder)
        plans = run_plans(run)
        info = detect()
        if info.available:
            log.info("crosscheck: R %s, packages %s", info.r_version, info.packages)
            for pkg, version in info.packages.items():
                if version is not None and version != VALIDATED.get(pkg):
                    log.warning(
                        "crosscheck: %s %s is not the validated %s",
                        pkg,
                        version,
                        VALIDATED.get(pkg),
                    )
        else:
            log.warning("crosscheck: every check skipped: %s", info.reason)
        rows, used = execute(plans, info, run.panel)
        table = pd.DataFrame(rows, columns=list(COLUMNS))
        csv = folder / "crosscheck.csv"
        _write_atomic(csv, table.to_csv(index=False, float_format="%.15g", lineterminator="\n"))
        if run.manifest is not None:
            manifest = {
                **run.manifest,
                "crosscheck": _manifest_section(info, used, table, time.perf_counter() - t0),
            }
            _write_atomic(
                folder / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n"
            )
        if (folder / "report.html").exists():
            from analysis.render.report import render

            render(folder)  # the run's report shows the verdicts and the R depth
        counts = table["status"].value_counts()
        summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("pass", "fail", "skipped"))
        log.info("crosscheck: %s -> %s", summary, csv)
    finally:
        for logger in (log, chatter, rpy2_log):
            logger.removeHandler(handler)
        handler.close()
    print(f"wrote {csv}: {summary}")
    failed = table[table["status"] == "fail"]
    if len(failed):
        names = [f"{r.check} ({r.reason})" for r in failed.head(5).itertuples()]
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        raise CrosscheckFailure(
            f"{len(failed)} cross-check(s) failed: {'; '.join(names)}{more}; see {csv}"
        )
    return 0
