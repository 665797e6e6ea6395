"""The embedded default panel: a documented, seeded data-generating process (SIMULATED DATA).

The study's yearbook data are licensed and not public. The default run uses the real city
registry and the real pilot-zone assignment with a simulated panel shaped like what a
yearbook user would hold: raw indicators, not ready-made indices. The true effects are
known and written beside the panel (`FILE.truth.json`), so every estimator can be checked
against them.

Process, for city i (the 266 study cities) and year t = 2009..2022 (k = t - 2009):

- Development level a_i ~ N(0, 1) + 0.6 [ever treated] + region shift (east 0.5, central
  0, west -0.3, northeast -0.2): treated cities are richer before treatment.
- Common year shocks lambda_t (2009 and 2020 dips) and a stationary AR(1) business-cycle
  shock u_it = 0.6 u_i,t-1 + e_it, e_it ~ N(0, 0.04^2), independent of treatment.
- GDP per person grows 7.5% a year; regional trends (east fastest, northeast slowest) in
  urbanization, marketization and digital finance; trending digitalisation and patents.
  The regional trends stay out of the resilience components, so that parallel trends hold
  with and without the controls.
- Controls: gdp, population, urban population, fiscal expenditure, loans, fdi, college
  students (yearbook units, see analysis.prepare.variables).
- Moderators: a marketization index (NERI-like, about 3-11) and digital-economy indicators
  (digital-sector employment share, telecom revenue, a digital-finance index).
- Mechanism inputs: invention patents, broadband and mobile subscribers, value added and
  employment of the three sectors.
- Eight resilience components in three dimensions (resistance, recovery, renewal), each
  = its mean + its scale x (city effect correlated with a_i + year effect + loading on u_it
  + AR(1) noise) + the treatment effect. Parallel trends hold by construction: nothing
  but the treatment moves treated and untreated cities apart.

Treatment effects (treated city i of cohort g at event time e = t - g >= 0, none before):

- Exposure profile s(e) = 1 - 0.5^(e+1) ("dynamic": 0.5, 0.75, 0.875, ...) or 1
  ("constant"); cohort multiplier c_g (Guizhou 1.3, second batch 1.0 when "dynamic").
- Heterogeneity h_i = 1 + 0.6 east_coastal + 0.4 high_marketization + 0.4
  high_digital_economy (moderators on pre-2015 values), or 1 when switched off.
- Mechanisms: patents x exp(0.25 m), broadband per resident + 0.06 m (untreated broadband
  per resident is a logistic curve in development and time, so its trend differs slightly
  with development: parallel trends hold only approximately for digital_infra), the productivity
  gap of the primary sector narrowed by 0.08 m, with m = s(e) c_g h_i. Untreated patents per
  resident trend upwards in parallel on the scale of tech_innovation (log1p of patents per
  resident): log1p(P0 / pop) = exp(-2 + 0.3 a_i + u_it + noise) + 0.02 k. The primary
  sector's employment share and productivity gap have no time trend, so the Theil index
  keeps parallel trends too. `mechanism_trends=True` is a stress variant in which patents,
  the primary share and the gap trend with development: tech_innovation and rationalization
  then trend faster in the richer, treated cities and parallel trends fail for those two
  channels (TWFE overstates the first and misses the second).
- Components: in units of their scale, 0.12 m directly plus 0.5 x the standardized shift of
  each mechanism (so part of the effect runs through the mechanisms), with the component's
  direction.

A few raw cells (0.3%) are missing at random. The truth is computed with the project's own
pipeline: the same interpolation and the same variable construction applied to the
observed panel and to the untreated potential outcomes, with entropy weights fitted on the
observed data; the ATT is the mean difference over treated post-treatment city-years.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.config import Config, load_config
from analysis.precision import write_json
from analysis.prepare.cities import study_cities
from analysis.prepare.treatment import add_treatment, pilot_cohorts
from analysis.prepare.variables import digital_economy_index, moderators
from analysis.simulation.truth import true_effects

COMPONENT_SPEC = {
    # role: (mean, scale, loading on development a_i, loading on cycle u_it)
    "ind_output_growth": (0.10, 0.04, 0.3, 1.0),
    "unemployment_rate": (0.035, 0.008, -0.3, -0.6),
    "export_dependence": (0.20, 0.08, 0.4, 0.2),
    "ind_profit_margin": (0.065, 0.015, 0.3, 0.8),
    "investment_growth": (0.12, 0.05, 0.1, 0.9),
    "rd_intensity": (0.018, 0.006, 0.6, 0.1),
    "new_product_share": (0.12, 0.04, 0.5, 0.2),
    "sci_expenditure_share": (0.025, 0.008, 0.5, 0.0),
}
REGION_SHIFT = {"east": 0.5, "central": 0.0, "west": -0.3, "northeast": -0.2}
REGION_TREND = {"east": 1.2, "central": 1.0, "west": 0.9, "northeast": 0.6}
YEAR_SHOCK = np.array(
    [-0.03, 0.02, 0.01, 0.0, 0.0, 0.0, -0.01, 0.0, 0.0, 0.01, 0.0, -0.05, 0.03, -0.01]
)


@dataclass(frozen=True)
class DGP:
    """Parameters of the process; the defaults make the embedded default panel."""

    seed: int
    effect_shape: str = "dynamic"  # or "constant"
    heterogeneity: bool = True
    effect_scale: float = 1.0
    missing_share: float = 0.003
    # Optional staggered design of its own (the defaults keep the pilot zones): cohorts as
    # (first treated year, share of cities), assigned at random from a separate seeded stream
    # and written to a `cohort` column (read with [treatment] source = "column"); one effect
    # multiplier per cohort. effect_shape "linear" makes effects grow without bound,
    # s(e) = (e + 1) / 4.
    cohorts: tuple[tuple[int, float], ...] = ()
    cohort_effects: tuple[float, ...] = ()
    # False: no time trend in the untreated patents, primary employment share and primary
    # productivity gap. With the trends (default) the mechanisms' nonlinear constructions
    # (log1p of patents per person, the Theil index) trend faster in the richer treated
    # cities, so parallel trends fail for tech_innovation and rationalization.
    mechanism_trends: bool = (
        False  # True: a stress variant where two channels break parallel trends
    )
    # Violated parallel trends (design trend_violation, analysis/simulation/designs.py): the untreated
    # resilience components of every ever-treated city drift by this much a year (in units of
    # each component's scale, towards more resilience), in both potential outcomes.
    treated_trend: float = 0.0


def _ar1(rng: np.random.Generator, n: int, t: int, rho: float, sd: float) -> np.ndarray:
    out = np.empty((n, t))
    out[:, 0] = rng.normal(0, sd / np.sqrt(1 - rho**2), n)
    for k in range(1, t):
        out[:, k] = rho * out[:, k - 1] + rng.normal(0, sd, n)
    return out


def _exposure(dgp: DGP, first_treat: np.ndarray, year: np.ndarray, guizhou: int) -> np.ndarray:
    """s(e) c_g for every row, 0 before treatment and for never-treated cities."""
    treated = (first_treat > 0) & (year >= first_treat)
    e = np.where(treated, year - first_treat, 0)
    if dgp.cohorts:
        shape = (e + 1.0) / 4.0 if dgp.effect_shape == "linear" else 1.0 - 0.5 ** (e + 1.0)
        if dgp.effect_shape == "constant":
            shape = np.ones_like(e, dtype=float)
        mult = dict(
            zip(
                (y for y, _ in dgp.cohorts),
                dgp.cohort_effects or (1.0,) * len(dgp.cohorts),
                strict=True,
            )
        )
        cohort = np.array([mult.get(int(g), 0.0) for g in first_treat])
        return np.where(treated, shape * cohort * dgp.effect_scale, 0.0)
    if dgp.effect_shape == "constant":
        shape, cohort = np.ones_like(e, dtype=float), np.ones_like(e, dtype=float)
    else:
        shape = 1.0 - 0.5 ** (e + 1.0)
        cohort = np.where(first_treat == guizhou, 1.3, 1.0)
    return np.where(treated, shape * cohort * dgp.effect_scale, 0.0)


def _own_cohorts(dgp: DGP, cfg: Config) -> pd.Series:
    """first_treat by city for a DGP with its own cohorts (separate random stream, so the
    main stream and with it the default panel do not change)."""
    codes = study_cities(cfg.sample)["admin_code"].to_numpy()
    rng = np.random.default_rng([dgp.seed, 1])
    years = np.array([0] + [y for y, _ in dgp.cohorts])
    shares = np.array([1.0 - sum(s for _, s in dgp.cohorts)] + [s for _, s in dgp.cohorts])
    if shares.min() < 0 or len(dgp.cohort_effects) not in (0, len(dgp.cohorts)):
        raise ValueError("DGP cohorts: shares must sum to at most 1, one effect per cohort")
    counts = np.floor(shares * len(codes)).astype(int)
    counts[0] += len(codes) - counts.sum()
    assigned = rng.permutation(np.repeat(years, counts))
    return pd.Series(assigned, index=codes, name="first_treat")


def _shares(logit: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logit))


def _potential_outcomes(dgp: DGP, cfg: Config) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Observed raw panel, untreated raw panel (same cells), and the frame of city traits."""
    rng = np.random.default_rng(dgp.seed)
    cities = study_cities(cfg.sample)
    cohorts = pilot_cohorts(cfg.treatment) if not dgp.cohorts else _own_cohorts(dgp, cfg)
    years = np.arange(cfg.panel.first_year, cfg.panel.last_year + 1)
    n, T = len(cities), len(years)
    ft = cohorts.reindex(cities["admin_code"]).to_numpy()
    region = cities["region"].to_numpy()
    a = rng.normal(0, 1, n) + 0.6 * (ft > 0) + np.array([REGION_SHIFT[r] for r in region])
    trend = np.array([REGION_TREND[r] for r in region])[:, None]
    u = _ar1(rng, n, T, 0.6, 0.04)
    k = np.arange(T)[None, :]
    A = a[:, None]
    noise = lambda sd: rng.normal(0, sd, (n, T))  # noqa: E731

    pop0 = np.exp(rng.normal(5.9, 0.55, n) + 0.15 * a)
    population = pop0[:, None] * np.exp(0.005 * k + noise(0.01))
    ln_gdp_pc = 10.6 + 0.35 * A + 0.075 * k + YEAR_SHOCK[None, :T] + u
    gdp = np.exp(ln_gdp_pc) * population / 1e4
    raw = {
        "population": population,
        "gdp": gdp,
        "urban_population": population * _shares(0.1 + 0.5 * A + 0.05 * trend * k + noise(0.05)),
        "fiscal_expenditure": gdp * np.clip(0.16 - 0.03 * A + noise(0.01), 0.05, 0.6),
        "loans": gdp * np.exp(0.1 + 0.25 * A + 0.02 * k + noise(0.05)),
        "fdi": gdp
        * 0.02
        * np.exp(0.4 * A + 0.5 * cities["coastal"].to_numpy()[:, None] + noise(0.2)),
        "college_students": population * 0.015 * np.exp(0.4 * A + 0.02 * k + noise(0.05)),
        "marketization": 6.0 + 1.1 * A + 0.12 * trend * k + noise(0.25),
        "digital_employment_share": 0.01 * np.exp(0.3 * A + 0.05 * k + noise(0.05)),
        "telecom_revenue": population * 0.0008 * np.exp(0.25 * A + 0.06 * k + noise(0.05)),
        "digital_finance": 60.0 + 22.0 * trend * k + 15.0 * A + noise(5.0),
        "mobile_subscribers": population * (0.6 + 0.05 * k + 0.1 * A + noise(0.03)).clip(0.2),
    }
    mech_trend = 1.0 if dgp.mechanism_trends else 0.0
    patent_noise = noise(0.1)
    if dgp.mechanism_trends:
        patents0 = population * np.exp(-2.0 + 0.8 * A + 0.12 * k + u + patent_noise)
    else:  # trending, and parallel on the scale of tech_innovation = log1p(patents / population)
        patents0 = population * np.expm1(np.exp(-2.0 + 0.3 * A + u + patent_noise) + 0.02 * k)
    broadband0 = population * 0.35 * _shares(-1.2 + 0.35 * A + 0.15 * k + noise(0.05))
    emp_primary = _shares(-0.4 - 0.6 * A - mech_trend * 0.05 * k + noise(0.05))
    emp_secondary = (1 - emp_primary) * _shares(-0.1 + 0.1 * A + noise(0.05))
    emp_total = population * 0.55
    gap0 = np.clip(1.0 - 0.15 * A - mech_trend * 0.02 * k + noise(0.05), 0.2, None)
    component_fe = {r: rng.normal(0, 0.7, n) for r in COMPONENT_SPEC}
    component_noise = {r: _ar1(rng, n, T, 0.4, 0.5) for r in COMPONENT_SPEC}
    component_year = {r: rng.normal(0, 0.3, T) for r in COMPONENT_SPEC}
    missing = {c: rng.random((n, T)) < dgp.missing_share for c in (*COMPONENT_SPEC, *raw)}

    frame = pd.DataFrame(
        {
            "city_code": np.repeat(cities["admin_code"].to_numpy(), T),
            "year": np.tile(years, n),
        }
    )
    frame = add_treatment(frame, cohorts)
    pre = frame.assign(**{c: v.ravel() for c, v in raw.items()})
    pre = pre.assign(digital_economy=digital_economy_index(pre)[0])
    traits = moderators(pre, pre_end=int(frame.loc[frame["first_treat"] > 0, "first_treat"].min()))
    traits["east_coastal"] = (cities.set_index("admin_code")["region"] == "east").astype(int)
    h = (
        1.0
        + 0.6 * traits["east_coastal"]
        + 0.4 * traits["high_marketization"]
        + 0.4 * traits["high_digital_economy"]
        if dgp.heterogeneity
        else pd.Series(1.0, index=traits.index)
    )
    m = _exposure(
        dgp, frame["first_treat"].to_numpy(), frame["year"].to_numpy(), cfg.treatment.guizhou_year
    )
    m = (m * frame["city_code"].map(h).to_numpy()).reshape(n, T)

    va_noise = noise(0.05)

    def assemble(m: np.ndarray) -> pd.DataFrame:
        patents = patents0 * np.exp(0.25 * m)
        broadband = broadband0 + 0.06 * m * population
        gap = gap0 * np.exp(-0.08 * m / 0.5)
        va_primary = emp_primary * np.exp(-gap)
        va_rest = 1.0 - va_primary
        va_secondary = va_rest * _shares(0.2 + 0.1 * A + va_noise)
        mech_shift = 0.5 * (0.25 * m / 0.8 + 0.06 * m / 0.08 + 0.08 * m / 0.3) / 3.0
        cols = dict(raw)
        cols.update(
            invention_patents=patents,
            broadband_subscribers=broadband,
            va_primary=gdp * va_primary,
            va_secondary=gdp * va_secondary,
            va_tertiary=gdp * (va_rest - va_secondary),
            emp_primary=emp_total * emp_primary,
            emp_secondary=emp_total * emp_secondary,
            emp_tertiary=emp_total * (1 - emp_primary - emp_secondary),
        )
        for role, (mean, scale, load_a, load_u) in COMPONENT_SPEC.items():
            direction = next(c.direction for c in cfg.components if c.role == role)
            sign = 1.0 if direction == "+" else -1.0
            latent = (
                component_fe[role][:, None]
                + load_a * A
                + component_year[role][None, :]
                + load_u * u / 0.04 * 0.5
                + component_noise[role]
                + sign * dgp.treated_trend * (ft > 0)[:, None] * k
            )
            effect = sign * (0.12 * m + mech_shift)
            cols[role] = mean + scale * (latent + effect)
        out = frame.assign(**{c: v.ravel() for c, v in cols.items()})
        for c, mask in missing.items():
            out.loc[mask.ravel(), c] = np.nan
        return _round(out)

    return assemble(m), assemble(np.zeros_like(m)), traits


def _round(frame: pd.DataFrame) -> pd.DataFrame:
    """Round to yearbook-like precision (deterministic text in the CSV)."""
    out = frame.copy()
    for c in out.columns:
        if c in ("city_code", "year", "first_treat", "treat_post", "rel_time"):
            continue
        out[c] = out[c].round(6 if out[c].abs().median() < 10 else 3)
    return out


def _recorded(dgp: DGP) -> dict[str, object]:
    return {k: v for k, v in asdict(dgp).items() if v not in ((), 0.0) or k not in OPTIONAL_FIELDS}


RAW_KEYS = ("city_code", "year")
OPTIONAL_FIELDS = ("cohorts", "cohort_effects", "treated_trend")  # left out of truth.json unused


def own_cohort_config(cfg: Config) -> Config:
    """The configuration that reads a DGP's own cohorts from its `cohort` column."""
    from dataclasses import replace

    return replace(cfg, treatment=replace(cfg.treatment, source="column", cohort_column="cohort"))


def simulate(dgp: DGP, cfg: Config | None = None) -> tuple[pd.DataFrame, dict[str, object]]:
    """The simulated raw panel (yearbook-like columns) and its truth."""
    cfg = cfg or load_config()
    if dgp.cohorts:
        cfg = own_cohort_config(cfg)
    observed, untreated, _ = _potential_outcomes(dgp, cfg)
    values = [*COMPONENT_SPEC, *cfg.inputs, *(["cohort"] if dgp.cohorts else [])]
    if dgp.cohorts:
        observed = observed.assign(cohort=observed["first_treat"])
        untreated = untreated.assign(cohort=untreated["first_treat"])
    obs = observed[[*RAW_KEYS, *values]]
    cf = untreated[[*RAW_KEYS, *values]]
    names = study_cities(cfg.sample).set_index("admin_code")["name_zh"]
    panel = obs.copy()
    panel.insert(1, "city_name", obs["city_code"].map(names))
    panel.insert(0, "simulated", 1)
    return panel, true_effects(obs, cf, cfg, _recorded(dgp))


def write_simulation(out: str | Path, seed: int, cfg: Config | None = None) -> tuple[Path, Path]:
    """Write FILE.csv and FILE.truth.json (deterministic text for a given seed)."""
    out = Path(out)
    panel, true = simulate(DGP(seed=seed), cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    truth_path = out.with_suffix(".truth.json")
    tmp = out.with_name(out.name + ".tmp")
    panel.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(out)
    write_json(true, truth_path)  # canonical JSON, numbers at the precision policy's digits
    return out, truth_path
