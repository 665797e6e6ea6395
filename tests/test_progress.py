"""Progress bars are off when stderr is not a terminal or with --quiet, and never lose items."""

from __future__ import annotations

import io
import sys

import pytest

from analysis import progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    progress.set_quiet(False)
    assert list(progress.progress(range(5), "perm", total=5)) == [0, 1, 2, 3, 4]
    assert "perm" in fake.getvalue()
    progress.set_quiet(True)
    fake.truncate(0)
    fake.seek(0)
    assert list(progress.progress(range(5), "perm", total=5)) == [0, 1, 2, 3, 4]
    assert fake.getvalue() == ""
    progress.set_quiet(False)


def test_no_bar_in_pipes(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(progress.progress(iter("abc"), "x")) == ["a", "b", "c"]
    assert capsys.readouterr().err == ""
