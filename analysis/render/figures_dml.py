"""Figures of the DML, mechanism and heterogeneity exhibits (PNG, deterministic; see
analysis.render.figures)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.render.figures import _save

COLORS = {"TWFE": "#1f4e79", "DML": "#c55a11"}


def _intervals(ax: plt.Axes, y: np.ndarray, frame: pd.DataFrame, color: str, label: str) -> None:
    ax.errorbar(
        frame["estimate"],
        y,
        xerr=[frame["estimate"] - frame["conf_low"], frame["conf_high"] - frame["estimate"]],
        fmt="o",
        color=color,
        capsize=3,
        label=label,
    )


def dml_comparison_figure(table: pd.DataFrame, note: str, path: Path, title: str) -> None:
    """Estimates and intervals of every DML specification, in the table's order."""
    rows = table.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * len(rows) + 1.6))
    ax.axvline(0, color="grey", lw=0.8)
    _intervals(ax, np.arange(len(rows)), rows, COLORS["DML"], "DML")
    labels = [f"{r.learner} | {r.fixed_effects} | {r.folds} folds" for r in rows.itertuples()]
    ax.set_yticks(np.arange(len(rows)), labels, fontsize=7)
    ax.set_xlabel("Effect of the pilot zone on resilience (median over repetitions)")
    ax.set_title(title, fontsize=10)
    fig.text(0.01, 0.01, note, fontsize=6, wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    _save(fig, path)


def forest_figure(rows: pd.DataFrame, note: str, path: Path, title: str) -> None:
    """Subgroup effects: one slot per moderator and group, TWFE and DML side by side."""
    slots = list(dict.fromkeys(zip(rows["moderator"], rows["group"], strict=True)))
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(slots) + 1.6))
    ax.axvline(0, color="grey", lw=0.8)
    y_of = {slot: float(len(slots) - 1 - i) for i, slot in enumerate(slots)}
    offsets = {"TWFE": 0.15, "DML": -0.15}
    for method, color in COLORS.items():
        part = rows[rows["method"] == method]
        if len(part):
            y = np.array(
                [
                    y_of[(m, g)] + offsets[method]
                    for m, g in zip(part["moderator"], part["group"], strict=True)
                ]
            )
            _intervals(ax, y, part, color, method)
    ax.set_yticks(list(y_of.values()), [f"{m}: {g}" for m, g in y_of], fontsize=7)
    ax.set_xlabel("Effect of the pilot zone on resilience (split samples)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.text(0.01, 0.01, note, fontsize=6, wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    _save(fig, path)
