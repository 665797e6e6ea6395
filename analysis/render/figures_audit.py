"""Figure of the data audit: coverage of the raw panel by column and year (PNG,
deterministic; see analysis.render.figures)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.render.figures import _save


def coverage_figure(coverage: pd.DataFrame, note: str, path: Path) -> None:
    """A heatmap of the share of non-missing cells, one row per column (role) and one
    column per year; every cell below 100% carries its percentage."""
    share = coverage.to_numpy(dtype=float)
    rows, cols = share.shape
    low = min(0.9, float(np.nanmin(share)) if share.size else 0.9)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * cols + 3.5), max(3.0, 0.27 * rows + 1.6)))
    # Full coverage is pale; the fewer cells, the darker (so a gap stands out).
    image = ax.imshow(share, cmap="OrRd_r", vmin=low, vmax=1.0, aspect="auto")
    for i, j in zip(*np.nonzero(share < 1), strict=True):
        value = 100 * share[i, j]
        text = f"{value:.1f}" if value >= 90 else f"{value:.0f}"
        color = "black" if share[i, j] > (1 + low) / 2 else "white"
        ax.text(j, i, text, ha="center", va="center", fontsize=6, color=color)
    ax.set_xticks(range(cols), [str(c) for c in coverage.columns], rotation=90, fontsize=7)
    ax.set_yticks(range(rows), [str(r) for r in coverage.index], fontsize=7)
    ax.set_title("Coverage of the raw panel: share of non-missing cells", fontsize=10)
    bar = fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    bar.set_label("share non-missing", fontsize=7)
    bar.ax.tick_params(labelsize=6)
    fig.text(0.01, 0.005, note, fontsize=6, wrap=True)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _save(fig, path)
