"""Orchestration of `python -m analysis run`: stages in order, outputs written into a
temporary folder and moved into place at the end (a failed run never leaves half a result
over a good one)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.catalogue import exhibits
from analysis.config import DATA_DIR, DEFAULT_PANEL, Config, load_config
from analysis.errors import InputError, choices, suggest
from analysis.estimates import FLOAT_FORMAT, Estimate, to_frame
from analysis.exhibit import Context, Exhibit
from analysis.manifest import git_state, inputs, r_version, versions
from analysis.prepare.loading import map_columns, read_table
from analysis.prepare.panel import build_panel
from analysis.render.figures import data_label
from analysis.render.report import render as render_report
from analysis.render.tables import write_table
from analysis.truth import comparison, load_truth

log = logging.getLogger("analysis")
SIMULATED_LABEL = "SIMULATED DATA"
SIMULATED_NOTE = "SIMULATED DATA (the embedded default panel; see analysis/simulate.py)."


class Timer:
    """Seconds per stage, for the log and the manifest."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        log.info("stage %s ...", name)
        yield
        self.seconds[name] = round(time.perf_counter() - t0, 3)
        log.info("stage %s done in %.2f s", name, self.seconds[name])


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


def load_raw(data: Path, cfg: Config) -> pd.DataFrame:
    """The role-named raw panel as loaded (what the data audit reads)."""
    return map_columns(read_table(data), cfg, str(data))


def prepare(data: Path, cfg: Config) -> tuple[pd.DataFrame, Any]:
    """Load, map, validate and build the analysis panel (the data stages)."""
    return build_panel(load_raw(data, cfg), cfg, str(data))


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


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


def run(
    data: Path | None = None,
    config: Path | None = None,
    out: Path = Path("output"),
    seed: int | None = None,
    only: tuple[str, ...] | None = None,
) -> Path:
    """The whole study (or the exhibits in `only`); returns the output folder."""
    timer = Timer()
    data = Path(data) if data else DEFAULT_PANEL
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    handler = _attach_log(tmp)
    try:
        with timer.stage("config"):
            cfg = load_config(config, seed)
        with timer.stage("data"):
            raw = load_raw(data, cfg)
            panel, info = build_panel(raw, cfg, str(data))
            truth = load_truth(data)
            log.info(
                "panel: %d cities x %d years, %d rows; %d cells interpolated; %d city-years dropped; cities not in the sample: %d",
                panel["city_code"].nunique(),
                panel["year"].nunique(),
                len(panel),
                info.interpolated_cells,
                info.dropped_city_years,
                len(info.dropped_cities),
            )
        ctx = Context(panel=panel, cfg=cfg, truth=truth, raw=raw, prepared=info)
        estimates: list[Estimate] = []
        exhibits_meta = []
        for ex in select(only):
            with timer.stage(ex.id):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    result = ex.run(ctx)
                _log_warnings(ex.id, caught)
                ex.check(result)
            estimates += result.estimates
            note_base = SIMULATED_NOTE if truth is not None else ""
            for name, table in result.tables.items():
                note = " ".join(x for x in (result.notes.get(name, ""), note_base) if x)
                write_table(table, name, ex.title, note, tmp / "tables")
            with data_label(SIMULATED_LABEL if truth is not None else ""):
                for name, writer in result.figures.items():
                    writer(tmp / "figures" / f"{name}.png")
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
        with timer.stage("write"):
            _write_csv(to_frame(estimates), tmp / "estimates.csv")
            _write_csv(panel, tmp / "analysis_panel.csv")
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
            "versions": versions(),
            "r": r_version(),
            "seed": cfg.seed,
            "inputs": inputs(
                {
                    "data": data,
                    "config": Path(cfg.source),
                    "cities": DATA_DIR / "cities.csv",
                    "pilot_zones": DATA_DIR / "pilot_zones.csv",
                }
            ),
            "config": cfg.to_dict(),
            "panel": {
                "rows": len(panel),
                "cities": int(panel["city_code"].nunique()),
                "interpolated_cells": info.interpolated_cells,
                "dropped_city_years": info.dropped_city_years,
                "cities_outside_sample": list(info.dropped_cities),
                "pre_period_end": info.pre_end,
            },
            "exhibits": exhibits_meta,
            "seconds": timer.seconds,
        }
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8"
        )
        with timer.stage("report"):
            render_report(tmp)
        log.info("run finished: %s", out)
    except BaseException:
        log.removeHandler(handler)
        handler.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.removeHandler(handler)
    handler.close()
    _replace_dir(tmp, out)
    return out
