"""Figures of simulated data carry the label; figures of real data do not."""

from __future__ import annotations

from pathlib import Path


def test_figures_of_simulated_data_are_labelled(tmp_path: Path) -> None:
    """The pipeline stamps every figure of a simulated run; a real-data run gets no stamp."""
    import matplotlib.pyplot as plt

    from analysis.render.figures import _save, data_label

    def draw(path: Path) -> list[str]:
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        texts: list[str] = []
        fig.canvas.mpl_connect(
            "draw_event", lambda _e: texts.extend(t.get_text() for t in fig.texts)
        )
        _save(fig, path)
        return texts

    with data_label("SIMULATED DATA"):
        assert "SIMULATED DATA" in draw(tmp_path / "a.png")
    assert "SIMULATED DATA" not in draw(tmp_path / "b.png")
