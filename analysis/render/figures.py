"""Figures (PNG). Deterministic: fixed size, fonts and no timestamps in the metadata."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.render.labels import words  # noqa: E402

PNG_META = {"Software": None}


_label = ""


@contextmanager
def data_label(text: str) -> Iterator[None]:
    """Every figure saved inside the block carries `text` (e.g. SIMULATED DATA) in its corner."""
    global _label
    old, _label = _label, text
    try:
        yield
    finally:
        _label = old


def _save(fig: plt.Figure, path: Path) -> None:
    for text in fig.findobj(matplotlib.text.Text):  # the run's vocabulary (render.labels)
        text.set_text(words(text.get_text()))
    if _label:
        fig.text(
            0.005, 0.995, _label, ha="left", va="top", fontsize=8, color="#b42318", weight="bold"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, metadata=PNG_META)
    plt.close(fig)


# The dashed line marks the start of treatment, between event times -1 and 0, whatever the
# reference period (which shows as a point at zero with no interval).
ONSET = -0.5


def event_study_figure(
    coefs: pd.DataFrame,
    note: str,
    path: Path,
    title: str = "Event study",
    xlabel: str = "Years relative to the pilot zone (end points binned)",
) -> None:
    """Coefficients and confidence intervals by event time; the reference period at zero."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(ONSET, color="grey", lw=0.8, ls="--")
    ax.errorbar(
        coefs["event_time"],
        coefs["estimate"],
        yerr=[coefs["estimate"] - coefs["conf_low"], coefs["conf_high"] - coefs["estimate"]],
        fmt="o",
        color="#1f4e79",
        capsize=3,
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Effect on resilience index")
    ax.set_title(title)
    fig.text(0.01, 0.01, note, fontsize=6, wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    _save(fig, path)


def headline_figure(rows: list[Any], path: Path, title: str) -> None:
    """The overall effect by each estimator with its interval (rows: render.findings
    Headline), top to bottom; a red x marks the true effect where it is known."""
    fig, ax = plt.subplots(figsize=(7, 0.42 * len(rows) + 1.2))
    y = list(range(len(rows)))[::-1]
    ax.axvline(0, color="grey", lw=0.8)
    for yi, r in zip(y, rows, strict=True):
        ax.plot([r.conf_low, r.conf_high], [yi, yi], color="#1f4e79", lw=1.6)
        ax.plot(r.estimate, yi, "o", color="#1f4e79")
        if r.truth is not None:
            ax.plot(r.truth, yi, "x", color="#b42318", ms=8, mew=2)
    ax.set_yticks(y)
    ax.set_yticklabels([r.label for r in rows])
    ax.set_xlabel(
        "Estimate with 95% interval"
        + ("; x: true effect" if any(r.truth is not None for r in rows) else "")
    )
    ax.set_title(title)
    fig.tight_layout()
    _save(fig, path)
