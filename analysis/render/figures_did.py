"""Figures of the staggered-DID suite (PNG, deterministic as in analysis.render.figures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.render.figures import ONSET, _save, plt

COLORS = ("#1f4e79", "#c55a11", "#548235", "#7030a0", "#bf9000")


def _footer(fig: plt.Figure, note: str) -> None:
    fig.text(0.01, 0.01, note, fontsize=6, wrap=True)
    fig.tight_layout(rect=(0, 0.08, 1, 1))


def event_estimators_figure(
    series: dict[str, pd.DataFrame], note: str, path: Path, critical: float
) -> None:
    """Event-time coefficients of several estimators side by side, pointwise intervals of
    +/- `critical` standard errors."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(ONSET, color="grey", lw=0.8, ls="--")
    width = 0.6 / max(len(series), 1)
    for i, (name, s) in enumerate(series.items()):
        x = s["event_time"].to_numpy(dtype=float) + (i - (len(series) - 1) / 2) * width
        se = s["std_error"].fillna(0).to_numpy(dtype=float)
        ax.errorbar(
            x,
            s["estimate"],
            yerr=critical * se,
            fmt="o",
            ms=3.5,
            capsize=2,
            color=COLORS[i % len(COLORS)],
            label=name,
        )
    ax.set_xlabel("Years relative to the pilot zone")
    ax.set_ylabel("Effect on resilience index")
    ax.set_title("Event study: TWFE and heterogeneity-robust estimators")
    ax.legend(fontsize=7, frameon=False)
    _footer(fig, note)
    _save(fig, path)


def placebo_figure(draws: np.ndarray, actual: float, p_value: float, note: str, path: Path) -> None:
    """Histogram of the permutation distribution with the actual estimate."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.hist(draws, bins=40, color="#9dc3e6", edgecolor="white")
    ax.axvline(actual, color="#c00000", lw=1.5, label=f"actual estimate {actual:.4f}")
    ax.set_xlabel("TWFE coefficient under reassigned treatment")
    ax.set_ylabel("Permutations")
    ax.set_title(f"Randomization inference ({len(draws)} permutations, p = {p_value:.4f})")
    ax.legend(fontsize=7, frameon=False)
    _footer(fig, note)
    _save(fig, path)


def honest_figure(
    frame: pd.DataFrame, original: tuple[float, float], note: str, path: Path
) -> None:
    """Robust confidence sets over the sensitivity grid, one panel per restriction and one
    series per method (side by side), beside the original interval."""
    kinds = list(dict.fromkeys(frame["restriction"]))
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.6 * len(kinds), 4), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        part = frame[frame["restriction"] == kind]
        methods = list(dict.fromkeys(part["method"]))
        params = list(dict.fromkeys(part["parameter"]))
        width = 0.5 / max(len(methods), 1)
        for i, method in enumerate(methods):
            rows = part[part["method"] == method]
            x = np.array([params.index(v) for v in rows["parameter"]], dtype=float)
            x += (i - (len(methods) - 1) / 2) * width
            ax.vlines(
                x,
                rows["conf_low"],
                rows["conf_high"],
                color=COLORS[i % len(COLORS)],
                lw=3,
                label=method,
            )
        ax.vlines([-1], [original[0]], [original[1]], color="#c00000", lw=3)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_xticks([-1, *range(len(params))], ["orig.", *(f"{v:g}" for v in params)], fontsize=7)
        ax.set_xlabel("Mbar" if kind == "relative_magnitude" else "M")
        ax.set_title(kind.replace("_", " "))
        ax.legend(fontsize=6, frameon=False, loc="upper left")
    axes[0][0].set_ylabel("Robust confidence set")
    _footer(fig, note)
    _save(fig, path)


def bacon_figure(table: pd.DataFrame, twfe: float, note: str, path: Path) -> None:
    """2x2 estimates against their weights, by comparison type; the TWFE line."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (kind, part) in enumerate(table.groupby("type", sort=True)):
        ax.scatter(
            part["weight"],
            part["estimate"],
            s=40,
            color=COLORS[i % len(COLORS)],
            label=str(kind).replace("_", " "),
        )
    ax.axhline(twfe, color="grey", lw=0.8, ls="--", label=f"TWFE {twfe:.4f}")
    ax.set_xlabel("Weight")
    ax.set_ylabel("2x2 DID estimate")
    ax.set_title("Goodman-Bacon decomposition")
    ax.legend(fontsize=7, frameon=False)
    _footer(fig, note)
    _save(fig, path)
