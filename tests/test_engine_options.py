"""Options reach an engine only under names it declares: a misspelled option fails loudly
(analysis.engines.options) instead of being ignored."""

from __future__ import annotations

import pytest

from analysis.engines.options import EngineOptionError, call, check, declared


def test_misspelled_options_fail_for_every_engine() -> None:
    import diff_diff as dd
    import doubleml as dml
    import pyfixest as pf

    with pytest.raises(EngineOptionError, match="'methd'.*declares: method, M, alpha, l_vec"):
        call(dd.HonestDiD, methd="smoothness")
    with pytest.raises(EngineOptionError, match="'fixef_remove'"):
        check(pf.feols, {"fixef_rm": "none", "fixef_remove": "none"})
    with pytest.raises(EngineOptionError, match="'n_fold'"):
        check(dml.DoubleMLPLR, {"n_fold": 5})
    with pytest.raises(EngineOptionError, match="'df_inference'"):
        check(dd.CallawaySantAnna, {"df_inference": 10})


def test_declared_names_and_a_good_call() -> None:
    def engine(a: int, b: int = 2, *, c: int = 3) -> int:
        return a + b + c

    assert declared(engine) == ("a", "b", "c")
    assert call(engine, 1, c=10) == 13
