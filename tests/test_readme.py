"""The README's exhibit map is the registry's, and its two commands are the Makefile's."""

from __future__ import annotations

import re

from analysis.catalogue import markdown_map
from tests.conftest import REPO


def test_readme_exhibit_map_matches_registry() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- exhibits:start -->\n(.*?)<!-- exhibits:end -->", text, re.S)
    assert block is not None, "README.md lacks the exhibits:start/end markers"
    assert block.group(1) == markdown_map()


def test_readme_commands_exist_and_ci_runs_the_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme
    assert re.search(r"^run: setup$", makefile, re.M) and re.search(
        r"^test: setup$", makefile, re.M
    )
    assert "make test" in (REPO / ".ci" / "run").read_text(encoding="utf-8")
