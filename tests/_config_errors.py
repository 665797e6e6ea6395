"""A configuration fragment that load_config must refuse in one line naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.config import load_config
from analysis.errors import InputError


def assert_one_line_refusal(tmp_path: Path, text: str, words: list[str]) -> None:
    """`text` as a configuration file is refused with a one-line InputError holding `words`."""
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message and all(w in message for w in words), message
