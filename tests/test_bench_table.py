"""bench --scale --study's table: cost per row relative to the smallest size (1 = linear)."""

from __future__ import annotations

from analysis.bench.study import table


def _size(rows: int, seconds: float, learner: float | None) -> dict[str, object]:
    return {
        "rows": rows,
        "seconds": {"dml_plr": seconds},
        "memory": {"dml_plr": 300.0},
        "wall": 2 * seconds,
        "not_run": [],
        "failed": {},
        "learner_seconds": {} if learner is None else {"dml_plr_lasso_within_5folds": learner},
    }


def test_linear_growth_is_one_and_missing_sizes_are_dashes() -> None:
    lines = table([_size(4000, 1.0, 0.5), _size(40000, 10.0, None), _size(400000, 300.0, 10.0)])
    stage = next(line for line in lines if line.startswith("dml_plr "))
    assert stage.split() == [
        "dml_plr",
        "1.00",
        "300",
        "1.00",
        "10.00",
        "300",
        "1.00",
        "300.00",
        "300",
        "3.00",
    ]
    learner = next(line for line in lines if "lasso_within_5folds" in line)
    assert learner.split() == ["lasso_within_5folds", "0.50", "1.00", "-", "-", "10.00", "0.20"]
    assert any(line.startswith("total") for line in lines)
