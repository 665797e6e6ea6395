"""Orchestration of `python -m analysis run`: stages in order, outputs written into a
temporary folder and moved into place at the end (a failed run never leaves half a result
over a good one)."""

from __future__ import annotations

import logging
import os
import shutil
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import pandas as pd

from analysis.catalogue import exhibits
from analysis.cluster import Cluster, DaskBlocks, DaskPool, connect
from analysis.config import DATA_DIR, DEFAULT_PANEL, Config, load_config
from analysis.errors import PARTIAL, AnalysisError, InputError, choices, describe, suggest
from analysis.estimates import Estimate, to_frame
from analysis.estimators.blocks import BLOCKS_KEY, LocalBlocks
from analysis.estimators.crossfit import SHARED_KEY, NuisanceCache
from analysis.exhibit import Context, Exhibit, Output
from analysis.manifest import git_state, inputs, machine, r_version, versions
from analysis.memory import PeakMemory
from analysis.panel_record import log_panel, panel_manifest
from analysis.precision import round_frame, write_csv, write_json
from analysis.prepare.loading import LoadInfo, load, read_table
from analysis.prepare.panel import PanelInfo, build_panel
from analysis.prepare.specification import record as specification_record
from analysis.prepare.specification import variables, variables_table
from analysis.render.figures import data_label
from analysis.render.labels import study_words, vocabulary
from analysis.render.report import render as render_report
from analysis.render.tables import write_table
from analysis.simulation.comparison import comparison, load_truth
from analysis.staging import make_staging

log = logging.getLogger("analysis")
T = TypeVar("T")
SIMULATED_LABEL = "SIMULATED DATA"
SIMULATED_NOTE = "SIMULATED DATA (the embedded default panel; see analysis/simulation/dgp.py)."


class Timer:
    """Seconds and peak memory (MB: this process and its children, the DML pool or a Dask
    cluster's local workers) per stage, for the log and the manifest."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.memory = PeakMemory()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        log.info("stage %s ...", name)
        with self.memory.stage(name):
            yield
        self.seconds[name] = round(time.perf_counter() - t0, 3)
        log.info(
            "stage %s done in %.2f s (peak memory %.0f MB)",
            name,
            self.seconds[name],
            self.memory.peaks[name],
        )


def _log_warnings(exhibit: str, caught: list[warnings.WarningMessage]) -> None:
    """Libraries' warnings (e.g. a learner that did not converge) go to run.log, counted,
    with one line on the terminal, instead of flooding it."""
    if not caught:
        return
    kinds = Counter(
        f"{w.category.__name__}: {str(w.message).splitlines()[0][:160]}" for w in caught
    )
    log.info("%s: %d warning(s) from libraries, details in run.log", exhibit, len(caught))
    for text, n in sorted(kinds.items()):
        log.debug("%s: %d x %s", exhibit, n, text)


def _load(data: Path, cfg: Config) -> tuple[pd.DataFrame, LoadInfo]:
    return load(read_table(data), cfg, str(data))


def load_raw(data: Path, cfg: Config) -> pd.DataFrame:
    """The role-named raw panel the loader keeps (what the data audit reads)."""
    return _load(data, cfg)[0]


def _build(
    raw: pd.DataFrame, loaded: LoadInfo, cfg: Config, data: Path
) -> tuple[pd.DataFrame, PanelInfo]:
    panel, info = build_panel(raw, cfg, str(data))
    if loaded.unit_ids:  # units of any kind with text ids: keep them beside their codes
        panel.insert(1, "unit_id", panel["city_code"].map(loaded.unit_ids))
    return round_frame(panel), replace(info, load=loaded)


def prepare(data: Path, cfg: Config) -> tuple[pd.DataFrame, PanelInfo]:
    """Load, map, validate and build the analysis panel (the data stages); what the loader
    dropped travels in PanelInfo.load. Its numbers are rounded to the precision policy, so
    the panel written is the panel estimated on."""
    return _build(*_load(data, cfg), cfg, data)


def _attach_log(folder: Path) -> logging.Handler:
    handler = logging.FileHandler(folder / "run.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    log.setLevel(logging.DEBUG)  # run.log gets everything; the terminal handler filters
    log.addHandler(handler)
    return handler


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move the finished run into place, keeping the old one until the move succeeded."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    tmp.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def select(only: tuple[str, ...] | None) -> list[Exhibit]:
    """The catalogue's exhibits, or the named ones and those that always run (in the
    catalogue's order)."""
    listed = exhibits()
    if not only:
        return listed
    known = [ex.id for ex in listed]
    for name in only:
        if name not in known:
            raise InputError(
                f"--only: unknown exhibit '{name}'{suggest(name, known)}; allowed: {choices(known)}"
            )
    return [ex for ex in listed if ex.id in only or ex.always]


@dataclass(frozen=True)
class RunResult:
    """Where a run was written and what of it could not be made: exhibits not run (the data
    do not allow them; with reasons) and parts that failed (an exhibit, a table, a figure,
    the report; with the error)."""

    out: Path
    not_run: dict[str, list[str]]
    failed: dict[str, str]

    @property
    def status(self) -> int:
        """The exit status: 0, or PARTIAL when a part failed and the rest was written."""
        return PARTIAL if self.failed else 0


def _attempt(part: str, action: Callable[[], T], failed: dict[str, str], strict: bool) -> T | None:
    """Run one part of the run; an unexpected failure is recorded (its traceback goes to
    run.log) and the run goes on, unless `strict`."""
    try:
        return action()
    except (AnalysisError, KeyboardInterrupt):
        raise
    except Exception as exc:
        if strict:
            raise
        failed[part] = describe(exc)
        log.error(
            "%s failed: %s (the traceback is in run.log; the rest of the run goes on)",
            part,
            failed[part],
        )
        log.debug("%s traceback:\n%s", part, traceback.format_exc())
        return None


def run(
    data: Path | None = None,
    config: Path | None = None,
    out: Path = Path("output"),
    seed: int | None = None,
    only: tuple[str, ...] | None = None,
    strict: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
) -> RunResult:
    """The whole study (or the exhibits in `only`) into `out`.

    With `workers` (a LocalCluster of that many processes) or `scheduler` (an existing Dask
    cluster) the DML cross-fitting jobs run on Dask (analysis.cluster); the outputs are the
    same bytes as without.

    An exhibit the data do not allow is not run, with the reason (status 0; with `only`
    naming it, an InputError). A part that fails (an exhibit, a table, a figure, the report)
    is recorded and the rest is written (RunResult.status PARTIAL); `strict` makes any
    failure end the run with nothing written."""
    timer = Timer()
    data = Path(data) if data else DEFAULT_PANEL
    out = Path(out)
    tmp = make_staging(out)
    handler = _attach_log(tmp)
    not_run: dict[str, list[str]] = {}
    failed: dict[str, str] = {}
    stack = ExitStack()
    try:
        with timer.stage("config"):
            cfg = load_config(config, seed)
        # tables, notes and figures in the study's words, or in generic ones on another panel
        stack.enter_context(vocabulary(study_words(cfg), cfg.outcome.column))
        with timer.stage("data"):
            raw, loaded = _load(data, cfg)
            panel, info = _build(raw, loaded, cfg, data)
            truth = load_truth(data)
            log_panel(panel, info, cfg)
            specification = specification_record(cfg, panel, info)
            for line in specification["differences"]:
                log.debug("specification differs from the paper's: %s", line)
            used = variables(cfg, info)
        ctx = Context(
            panel=panel,
            cfg=cfg,
            truth=truth,
            unavailable=dict(info.unavailable),
            raw=raw,
            prepared=info,
        )
        with timer.stage("cluster") if workers or scheduler else nullcontext():
            client, where = stack.enter_context(connect(workers, scheduler))
        if client is not None:  # cross-fitting jobs and bootstrap blocks go to the cluster
            ctx.shared(SHARED_KEY, lambda: NuisanceCache(pool=DaskPool(client)))
            ctx.shared(BLOCKS_KEY, lambda: DaskBlocks(client))
        else:  # joblib's local processes
            where = Cluster("joblib", cfg.dml.n_jobs)
            ctx.shared(BLOCKS_KEY, lambda: LocalBlocks(cfg.dml.n_jobs))
        estimates: list[Estimate] = []
        exhibits_meta = []
        selected = select(only)
        for ex in selected:
            result = _run_exhibit(ex, ctx, only, strict, timer, not_run, failed)
            if result is None:
                continue
            for part, reason in result.not_run.items():
                not_run[f"{ex.id} ({part})"] = [reason]
                log.debug("not run: %s (%s): %s", ex.id, part, reason)  # grouped at the end
            estimates += result.estimates
            _write_exhibit(ex, result, tmp, truth is not None, strict, failed)
            exhibits_meta.append(
                {
                    "id": ex.id,
                    "title": ex.title,
                    "module": ex.module,
                    "tables": sorted(result.tables),
                    "figures": sorted(result.figures),
                    **({"details": result.manifest} if result.manifest else {}),
                }
            )
        # The data audit runs on every run; an error when none of the exhibits asked for ran.
        wanted = {ex.id for ex in selected if not ex.always}
        if wanted and not wanted & {m["id"] for m in exhibits_meta}:
            reasons = "; ".join(f"{k}: {', '.join(v)}" for k, v in not_run.items())
            raise InputError(f"{data}: no exhibit could run on these data ({reasons})")
        with timer.stage("write"):
            # numbers at the precision policy's digits (analysis/precision.py)
            write_csv(to_frame(estimates), tmp / "estimates.csv")
            write_csv(panel, tmp / "analysis_panel.csv")
            write_table(
                variables_table(used),
                "variables",
                "The variables of this run and their definitions",
                "name: the analysis panel's column; label: as named in the configuration or "
                "the data file's header; source: the study's own variable, a column of the "
                "data file, a [variables] expression or an [inputs] role.",
                tmp / "tables",
            )
            if truth is not None:
                comp = comparison(estimates, truth, cfg.model.event_window)
                write_table(
                    comp,
                    "truth_comparison",
                    "Estimates beside the true effects of the simulation",
                    SIMULATED_NOTE,
                    tmp / "tables",
                )
        manifest = {
            "data": {"simulated": truth is not None, "file": str(data)},
            "git": git_state(),
            "machine": machine(),
            "versions": versions(),
            "r": r_version(),
            "seed": cfg.seed,
            "inputs": inputs(
                {
                    "data": data,
                    "config": Path(cfg.source),
                    "cities": DATA_DIR / "cities.csv",
                    "city_aliases": DATA_DIR / "city_aliases.csv",
                    "pilot_zones": DATA_DIR / "pilot_zones.csv",
                }
            ),
            "config": cfg.to_dict(),
            "specification": specification,
            "variables": [vars(v) for v in used],
            "panel": panel_manifest(panel, info),
            "exhibits": exhibits_meta,
            "not_run": [{"exhibit": k, "reasons": v} for k, v in not_run.items()],
            "failed": [{"part": k, "error": v} for k, v in failed.items()],
            "cluster": where.describe(),
            "seconds": timer.seconds,
            "peak_memory_mb": timer.memory.peaks,
        }
        write_json(manifest, tmp / "manifest.json")
        with timer.stage("report"):
            _attempt("report", lambda: render_report(tmp), failed, strict)
        if "report" in failed:  # the manifest says so too
            manifest["failed"] = [{"part": k, "error": v} for k, v in failed.items()]
            write_json(manifest, tmp / "manifest.json")
        log.info("run finished: %s", out)
    except BaseException:
        stack.close()
        log.removeHandler(handler)
        handler.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    stack.close()
    log.removeHandler(handler)
    handler.close()
    _replace_dir(tmp, out)
    return RunResult(out, not_run, failed)


def _run_exhibit(
    ex: Exhibit,
    ctx: Context,
    only: tuple[str, ...] | None,
    strict: bool,
    timer: Timer,
    not_run: dict[str, list[str]],
    failed: dict[str, str],
) -> Output | None:
    """One exhibit, if the data allow it: its Output, or None (recorded as not run or
    failed)."""
    asked = bool(only) and ex.id in (only or ())
    reasons = ex.needs.missing(ctx)
    if reasons:
        if asked:
            raise InputError(f"--only {ex.id}: cannot run on these data: {'; '.join(reasons)}")
        not_run[ex.id] = reasons
        log.debug("not run: %s (%s)", ex.id, "; ".join(reasons))  # grouped at the end
        return None

    def attempt() -> Output:
        with timer.stage(ex.id):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = ex.produce(ctx)
            _log_warnings(ex.id, caught)
            ex.check(result)
        return result

    try:
        return _attempt(f"exhibit {ex.id}", attempt, failed, strict)
    except InputError as exc:  # the data do not allow this exhibit: say why, go on
        if asked or strict:
            raise
        not_run[ex.id] = [str(exc)]
        log.debug("not run: %s (%s)", ex.id, exc)  # grouped at the end
        return None


def not_run_lines(not_run: dict[str, list[str]]) -> list[str]:
    """What was not run, one line per cause naming its exhibits (in run order), for the
    terminal; run.log and manifest.json keep each exhibit's reasons."""
    by_cause: dict[str, dict[str, list[str]]] = {}  # cause -> exhibit -> its parts
    for key, reasons in not_run.items():
        exhibit, _, part = key.partition(" (")  # "<exhibit> (<part>)": a part of an exhibit
        for reason in reasons:
            parts = by_cause.setdefault(reason, {}).setdefault(exhibit, [])
            if part:
                parts.append(part.removesuffix(")"))
    return [
        "not run: "
        + ", ".join(f"{ex} ({', '.join(parts)})" if parts else ex for ex, parts in named.items())
        + f": {cause}"
        for cause, named in by_cause.items()
    ]


def _write_exhibit(
    ex: Exhibit, result: Output, tmp: Path, simulated: bool, strict: bool, failed: dict[str, str]
) -> None:
    """The exhibit's tables and figures, each on its own: one that fails is recorded."""
    note_base = SIMULATED_NOTE if simulated else ""
    for name, table in result.tables.items():
        note = " ".join(x for x in (result.notes.get(name, ""), note_base) if x)
        write = partial(write_table, table, name, ex.title, note, tmp / "tables")
        _attempt(f"table {name}", write, failed, strict)
    with data_label(SIMULATED_LABEL if simulated else ""):
        for name, writer in result.figures.items():
            draw = partial(writer, tmp / "figures" / f"{name}.png")
            _attempt(f"figure {name}", draw, failed, strict)
