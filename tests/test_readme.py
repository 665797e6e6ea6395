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


def test_the_notebook_example_gives_the_runs_numbers(capsys) -> None:  # type: ignore[no-untyped-def]
    """The README's Python-interface block, run as written, prints the baseline TWFE and the
    simple Callaway-Sant'Anna ATT of a run (the golden run's estimates.csv), and the README
    quotes what it prints."""
    import pandas as pd

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- notebook:start -->\n```python\n(.*?)```\n<!-- notebook:end -->", readme, re.S
    )
    assert block is not None, "README.md lacks the notebook:start/end block"
    exec(compile(block.group(1), "README.md", "exec"), {})  # noqa: S102 - the README's own code
    printed = capsys.readouterr().out.splitlines()
    golden = pd.read_csv(REPO / "tests" / "reference" / "golden" / "estimates.csv")
    rows = golden.set_index(["model", "term"])
    twfe = rows.loc[("baseline_twfe", "treat_post")]
    cs = rows.loc[("cs_simple", "ATT")]
    assert printed == [
        f"TWFE: {twfe.estimate:.6f} ({twfe.std_error:.6f})",
        f"Callaway-Sant'Anna simple ATT: {cs.estimate:.6f} ({cs.std_error:.6f})",
    ]
    for line in printed:
        assert f"`{line}`" in readme
