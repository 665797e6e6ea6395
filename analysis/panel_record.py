"""What the preparation made of the data, for run.log (`log_panel`) and manifest.json
(`panel_manifest`): the panel's size, interpolated cells, dropped unit-years and units, rows
of years outside the panel, unit keys that name no unit, how values were read."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from analysis.config import Config
from analysis.prepare.panel import PanelInfo

log = logging.getLogger("analysis")


def _asked(cfg: Config) -> set[str]:
    """The variables the configuration asks for (the others' absence is no news)."""
    m = cfg.model
    names = {*m.controls, *m.mechanisms, *m.moderators, *cfg.callaway_santanna.covariates}
    return names | {d.name for d in cfg.variables}


def log_panel(panel: pd.DataFrame, info: PanelInfo, cfg: Config | None = None) -> None:
    log.info(
        "panel: %d units x %d years, %d rows; %d cells interpolated; %d unit-years dropped "
        "as incomplete; units not in the sample: %d",
        panel["city_code"].nunique(),
        panel["year"].nunique(),
        len(panel),
        info.interpolated_cells,
        info.dropped_city_years,
        len(info.dropped_cities),
    )
    loaded = info.load
    if loaded is None:
        return
    if loaded.years_outside:
        log.warning(
            "dropped %d rows of years outside [panel]: %s",
            sum(loaded.years_outside.values()),
            ", ".join(f"{y} ({n})" for y, n in loaded.years_outside.items()),
        )
    if loaded.unknown_units:
        log.warning(
            "dropped %d rows of %d unit keys that name no prefecture-level unit in their year: %s",
            sum(loaded.unknown_units.values()),
            len(loaded.unknown_units),
            "; ".join(
                f"{v!r} ({loaded.unknown_reasons[v]})" for v in list(loaded.unknown_units)[:10]
            ),
        )
    for value, unit, how in loaded.readings:
        log.info("read %r as %s (%s)", value, unit, how)
    asked = _asked(cfg) if cfg is not None else set(info.unavailable)
    for variable, reason in info.unavailable.items():
        label = cfg.label(variable) if cfg is not None else variable
        (log.info if variable in asked else log.debug)("not built: %s %s", label, reason)
    for variable, n in info.dropped_by_variable.items():
        log.info(
            "dropped %d unit-years without a value of %s (a lag has none in a unit's first period)",
            n,
            variable,
        )


def panel_manifest(panel: pd.DataFrame, info: PanelInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rows": len(panel),
        "cities": int(panel["city_code"].nunique()),
        "interpolated_cells": info.interpolated_cells,
        "dropped_city_years": info.dropped_city_years,
        "cities_outside_sample": list(info.dropped_cities),
        "pre_period_end": info.pre_end,
        "not_built": dict(info.unavailable),
        "dropped_by_variable": dict(info.dropped_by_variable),
        "moderator_problems": dict(info.moderator_problems),
    }
    if info.load is not None:
        out["rows_in_file"] = info.load.rows_in_file
        out["years_outside_panel"] = {str(k): v for k, v in info.load.years_outside.items()}
        out["unknown_units"] = [
            {"value": v, "rows": n, "reason": info.load.unknown_reasons[v]}
            for v, n in info.load.unknown_units.items()
        ]
        out["units_read_as"] = [{"value": v, "unit": u, "how": h} for v, u, h in info.load.readings]
    return out
