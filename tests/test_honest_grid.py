"""[honest_did] m: the study's grid in its index's units, "auto" (HonestDiD's default grid from
the pre-period coefficients) on request, and by default on panels of any units."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.config import load_config
from analysis.errors import InputError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_study_keeps_its_grid() -> None:
    assert load_config().honest_did.m == (0.0, 0.0025, 0.005, 0.01, 0.02)


def test_auto_is_accepted(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, '[honest_did]\nm = "auto"\n'))
    assert cfg.honest_did.m is None


def test_any_units_default_to_auto_unless_set(tmp_path: Path) -> None:
    any_units = '[panel]\nunits = "any"\n[treatment]\nsource = "column"\ncohort_column = "g"\n'
    assert load_config(_write(tmp_path, any_units)).honest_did.m is None
    cfg = load_config(_write(tmp_path, any_units + "[honest_did]\nm = [0.0, 1.0]\n"))
    assert cfg.honest_did.m == (0.0, 1.0)


@pytest.mark.parametrize("value", ['"sometimes"', '["a"]', "3"])
def test_a_bad_grid_is_one_clear_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(InputError, match=r"\[honest_did\] m"):
        load_config(_write(tmp_path, f"[honest_did]\nm = {value}\n"))
