"""The staggered-DID suite's configuration tables: defaults agree, bad values are one-line
InputErrors naming the key and the allowed values."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.config import (
    CallawaySantAnnaConfig,
    HonestDiDConfig,
    PlaceboConfig,
    PSMConfig,
    RobustnessConfig,
    load_config,
)
from analysis.errors import InputError


def test_toml_defaults_equal_dataclass_defaults() -> None:
    cfg = load_config()
    assert cfg.callaway_santanna == CallawaySantAnnaConfig()
    assert cfg.placebo == PlaceboConfig()
    assert cfg.honest_did == HonestDiDConfig()
    assert cfg.psm == PSMConfig()
    assert cfg.robustness == RobustnessConfig()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[callaway_santanna]\ncontrol_groups = ["never"]', "'nevertreated', 'notyettreated'"),
        ('[callaway_santanna]\nbootstrap_weights = "normal"', "'rademacher'"),
        ("[callaway_santanna]\nbootstrap_reps = -1", "bootstrap_reps must be >= 0"),
        ("[placebo]\npermutations = 0", "permutations >= 1"),
        ("[psm]\ncaliper = 0", "caliper > 0"),
        ('[psm]\nreplacement = "yes"', "must be of type bool"),
        ("[robustness]\nwinsorize = [0.9, 0.1]", "winsorize"),
    ],
)
def test_bad_values(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        load_config(path)


def test_user_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[placebo]\npermutations = 50\n[psm]\ncaliper = 0.1\n", encoding="utf-8")
    cfg = load_config(path)
    assert cfg.placebo.permutations == 50 and cfg.psm.caliper == 0.1
