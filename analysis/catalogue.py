"""The study's exhibits in the order of the paper. The pipeline runs them in this order; the
README's exhibit map (`python -m analysis exhibits`) and the report are generated from it."""

from __future__ import annotations

from analysis.exhibit import Exhibit
from analysis.exhibits import (
    baseline,
    callaway_santanna,
    cohort_randomization,
    data_audit,
    descriptives,
    dml_did,
    dml_plr,
    event_study,
    event_study_estimators,
    heterogeneity,
    honest_did,
    mechanisms,
    placebo,
    psm_did,
    robustness,
    twfe_diagnostics,
)

EXHIBITS: tuple[Exhibit, ...] = tuple(
    module.EXHIBIT
    for module in (
        data_audit,
        descriptives,
        baseline,
        event_study,
        callaway_santanna,
        event_study_estimators,
        placebo,
        cohort_randomization,
        twfe_diagnostics,
        honest_did,
        psm_did,
        robustness,
        dml_plr,
        dml_did,
        mechanisms,
        heterogeneity,
    )
)


def exhibits() -> list[Exhibit]:
    """The study's exhibits, in the order of the paper."""
    return list(EXHIBITS)


def exhibit(exhibit_id: str) -> Exhibit:
    """One exhibit by its id (the Monte Carlo and bench run exhibits through this, so that no
    module but this one imports an exhibit)."""
    for ex in EXHIBITS:
        if ex.id == exhibit_id:
            return ex
    raise KeyError(f"no exhibit {exhibit_id!r}; allowed: {', '.join(e.id for e in EXHIBITS)}")


def markdown_map() -> str:
    """The README's exhibit map: exhibit, output files, model ids, code."""
    rows = ["| exhibit | output files | model ids in estimates.csv | code |", "|---|---|---|---|"]
    for ex in EXHIBITS:
        files = [f"`tables/{t}.*`" for t in ex.tables] + [f"`figures/{f}.png`" for f in ex.figures]
        models = ", ".join(f"`{m}`" for m in ex.models) or "-"
        code = f"`{ex.module.replace('.', '/')}.py`"
        rows.append(f"| {ex.title} | {'<br>'.join(files)} | {models} | {code} |")
    return "\n".join(rows) + "\n"
