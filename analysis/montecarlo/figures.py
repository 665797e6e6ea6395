"""Figures of the Monte Carlo: bias (in units of the estimator's SD) and coverage by
estimator, one panel per design, with Monte Carlo error bars (two MC standard errors).
Deterministic PNGs (fixed size, no timestamps), labelled SIMULATED DATA."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.render.figures import PNG_META  # noqa: E402

LABEL = "SIMULATED DATA (Monte Carlo)"


def _save(fig: plt.Figure, path: Path) -> None:
    fig.text(0.005, 0.995, LABEL, ha="left", va="top", fontsize=8, color="#b42318", weight="bold")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, metadata=PNG_META)
    plt.close(fig)


def _panels(table: pd.DataFrame) -> tuple[list[str], list[str]]:
    designs = list(dict.fromkeys(table["design"]))
    quantities = list(dict.fromkeys(table["model"] + " / " + table["term"]))
    return designs, quantities


def _figure(
    table: pd.DataFrame,
    value: str,
    error: str,
    reference: float,
    xlabel: str,
    title: str,
    note: str,
    path: Path,
) -> None:
    designs, quantities = _panels(table)
    if not designs:  # e.g. one replication: no SD, no bias in SD units
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "not enough replications to show", ha="center", va="center")
        fig.suptitle(title, fontsize=10)
        _save(fig, path)
        return
    pos = {q: i for i, q in enumerate(quantities)}
    height = 1.6 + 0.22 * len(quantities)
    fig, axes = plt.subplots(
        1, len(designs), figsize=(2.4 * len(designs) + 2.6, height), sharey=True, squeeze=False
    )
    for ax, design in zip(axes[0], designs, strict=True):
        d = table[table["design"] == design]
        y = np.array([pos[q] for q in d["model"] + " / " + d["term"]])
        ax.axvline(reference, color="grey", lw=0.8, ls="--")
        ax.errorbar(d[value], y, xerr=2 * d[error], fmt="o", ms=3, color="#1f4e79", capsize=2)
        ax.set_title(design, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(axis="x", color="#eeeeee")
    axes[0][0].set_yticks(range(len(quantities)))
    axes[0][0].set_yticklabels(quantities, fontsize=7)
    axes[0][0].invert_yaxis()
    fig.suptitle(title, fontsize=10)
    fig.text(0.01, 0.005, note, fontsize=6, wrap=True)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    _save(fig, path)


def bias_figure(table: pd.DataFrame, note: str, path: Path) -> None:
    """Bias / SD with +/- 2 MC SE (quantities with a true value)."""
    t = table[np.isfinite(table["bias"]) & (table["sd"] > 0)].copy()
    t["bias_sd"] = t["bias"] / t["sd"]
    t["bias_sd_mcse"] = t["bias_mcse"] / t["sd"]
    _figure(
        t, "bias_sd", "bias_sd_mcse", 0.0, "bias / SD", "Bias by estimator and design", note, path
    )


def coverage_figure(table: pd.DataFrame, level: float, note: str, path: Path) -> None:
    """Coverage of the configured interval with +/- 2 MC SE."""
    t = table[np.isfinite(table["coverage"])]
    _figure(
        t,
        "coverage",
        "coverage_mcse",
        level,
        f"coverage of the {level:.0%} interval",
        "Coverage by estimator and design",
        note,
        path,
    )
