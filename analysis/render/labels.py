"""One label dictionary for every table and figure."""

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


def label(name: str) -> str:
    """The label of a variable or term (event-time terms are labelled by their period)."""
    if name.startswith("ev_"):
        k = name[3:].replace("m", "-")
        return f"Event time {k}"
    return LABELS.get(name, name)
