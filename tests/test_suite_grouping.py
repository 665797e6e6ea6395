"""`make test` relies on pytest-xdist's `--dist loadgroup`: the tests that read the session's
fast run (xdist_group "fast_run") share one worker, so that the study runs once. A pytest
that drops the group suffix of the node id (9.2 with xdist 3.8) spreads them silently and the
suite takes a minute longer; this test says so."""

from __future__ import annotations

import pytest


@pytest.mark.xdist_group("grouping_probe")
def test_loadgroup_groups(request: pytest.FixtureRequest) -> None:
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run under pytest-xdist --dist loadgroup (make test runs it so)")
    assert request.node.nodeid.endswith("@grouping_probe"), (
        f"pytest {pytest.__version__} with this pytest-xdist does not group tests "
        "(constraints.txt pins a pytest that does)"
    )
