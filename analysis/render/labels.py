"""One label dictionary for every table and figure, and the vocabulary they speak.

The study's words (pilot zone, Guizhou, cities, industrial chain resilience) are right for
the study's cities. On any other panel (units of any kind, or a treatment from the data) the
tables, notes and figures speak of units, the treatment and the user's outcome column: the
renderers pass their text through `words`, inside `vocabulary(...)` set by the run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

LABELS: dict[str, str] = {
    "resilience": "Industrial chain resilience",
    "treat_post": "Pilot zone x post",
    "ATT": "ATT",
    "ln_gdp_pc": "Log GDP per capita",
    "urbanization": "Urbanization rate",
    "fiscal": "Fiscal expenditure / GDP",
    "finance": "Loans / GDP",
    "fdi_share": "FDI / GDP",
    "human_capital": "College students per 100 residents",
    "tech_innovation": "Technological innovation",
    "digital_infra": "Digital infrastructure",
    "rationalization": "Industrial structure rationalization",
    "digital_economy": "Digital economy index",
    "marketization": "Marketization index",
    "east_coastal": "Eastern coastal region",
    "high_marketization": "High marketization",
    "high_digital_economy": "High digital economy",
    "city_code": "City",
    "year": "Year",
}

# The study's words and what they become on another panel (in this order).
GENERIC: tuple[tuple[str, str], ...] = (
    (r"\bPilot zone x post\b", "Treated x post"),
    (r"\bthe pilot zones'", "the treatment's"),
    (r"\bthe pilot's\b", "the treatment's"),
    (r"\bpilot zones?\b(?!\s*list)", "treatment"),
    (r"\bpilot\b(?![- ]zone)", "treatment"),
    (r"\s*\(Guizhou\)", ""),
    (r"(?<!Chinese )\bcities(?=\b|_)", "units"),
    (r"\bCities\b", "Units"),
    (r"\bcity\b(?! registry)", "unit"),
    (r"\bCity\b", "Unit"),
    (r"\bIndustrial chain resilience\b", "{outcome}"),
    (r"\bresilience index\b", "outcome"),
)
_active: list[tuple[re.Pattern[str], str]] = []


@contextmanager
def vocabulary(study: bool, outcome: str = "") -> Iterator[None]:
    """The study's words (`study`), or the generic ones with the outcome's own name."""
    global _active
    old = _active
    name = outcome or "Outcome"
    _active = [] if study else [(re.compile(p), r.replace("{outcome}", name)) for p, r in GENERIC]
    try:
        yield
    finally:
        _active = old


def study_words(cfg: object) -> bool:
    """Whether a configuration is the study's setting (Chinese cities, pilot-zone treatment)."""
    panel, treatment = getattr(cfg, "panel"), getattr(cfg, "treatment")  # noqa: B009
    return bool(panel.units == "cities" and treatment.source == "pilot_zones")


def words(text: str) -> str:
    """`text` in the active vocabulary."""
    for pattern, replacement in _active:
        text = pattern.sub(replacement, text)
    return text


def label(name: str) -> str:
    """The label of a variable or term (event-time terms are labelled by their period)."""
    if name.startswith("ev_"):
        k = name[3:].replace("m", "-")
        return f"Event time {k}"
    return words(LABELS.get(name, name))
