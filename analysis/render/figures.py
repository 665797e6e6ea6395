"""Figures (PNG). Deterministic: fixed size, fonts and no timestamps in the metadata."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

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
