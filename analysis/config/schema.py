"""The configuration's schema: file locations, one frozen dataclass per TOML table, and the
allowed values of enumerated options (analysis.config reads and checks the TOML)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.config.expressions import Node

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"
DEFAULT_CONFIG = DATA_DIR / "study.toml"
DEFAULT_PANEL = DATA_DIR / "simulated_panel.csv"

DIMENSIONS = ("resistance", "recovery", "renewal")
DIRECTIONS = ("+", "-")


@dataclass(frozen=True)
class Component:
    """One raw indicator of industrial chain resilience."""

    role: str
    column: str
    direction: str
    dimension: str


@dataclass(frozen=True)
class PanelConfig:
    first_year: int
    last_year: int
    city_key: str
    missing: str
    # "cities": Chinese prefecture-level units resolved against data/cities.csv; "any":
    # units of any kind (counties, firms, other countries' regions) by their own ids.
    units: str = "cities"


@dataclass(frozen=True)
class OutcomeConfig:
    column: str
    weights: str
    shift: float


@dataclass(frozen=True)
class ModelConfig:
    controls: tuple[str, ...]
    mechanisms: tuple[str, ...]
    moderators: tuple[str, ...]
    event_window: tuple[int, int]
    reference_period: int


@dataclass(frozen=True)
class InferenceConfig:
    """Variance estimator and small-sample correction, in fixest's vocabulary."""

    vcov: str
    cluster: str
    k_adj: bool
    k_fixef: str
    G_adj: bool
    G_df: str
    t_df: str
    level: float


@dataclass(frozen=True)
class TreatmentConfig:
    source: str
    cohort_column: str
    guizhou_year: int
    second_batch_year: int
    prd_scope: str
    shenyang_scope: str


@dataclass(frozen=True)
class SampleConfig:
    cities: str
    exclude_provinces: tuple[str, ...]
    drop_municipalities: bool
    drop_years: tuple[int, ...]


@dataclass(frozen=True)
class CallawaySantAnnaConfig:
    """Callaway-Sant'Anna specifications (defaults equal data/study.toml)."""

    control_groups: tuple[str, ...] = ("nevertreated", "notyettreated")
    base_periods: tuple[str, ...] = ("varying", "universal")
    covariates: tuple[str, ...] = ("ln_gdp_pc", "urbanization")
    covariate_methods: tuple[str, ...] = ("dr", "reg", "ipw")
    trim_level: float = 0.995  # R DRDID's trim.level: controls with a score >= it get weight 0
    bootstrap_reps: int = 999
    bootstrap_weights: str = "rademacher"


@dataclass(frozen=True)
class PlaceboConfig:
    permutations: int = 1000


@dataclass(frozen=True)
class WildBootstrapConfig:
    """Wild cluster bootstrap of the TWFE exhibits (analysis/estimators/wild_bootstrap.py):
    draws, weights ("auto": Rademacher, or Webb's six-point weights when 2^(G-1) < reps) and
    whether the null is imposed (WCR) or not (WCU); seeded from [run] seed."""

    reps: int = 9999
    weights: str = "auto"
    restricted: bool = True


@dataclass(frozen=True)
class RandomizationConfig:
    """Randomization inference at the level treatment was assigned
        (analysis/estimators/cohort_randomization.py): "zones" permutes whole pilot zones and
        their cohort dates, "units" the units' cohorts; "auto" is zones when the treatment comes
        from the pilot-zone list, units otherwise. `statistic`: what is permuted, the t statistic
    (estimate / clustered SE, robust to groups of different sizes) or the estimate. Seeded from
    [run] seed."""

    scheme: str = "auto"
    permutations: int = 999
    statistic: str = "t"  # "t": estimate / SE (studentized), or "estimate"


@dataclass(frozen=True)
class HonestDiDConfig:
    mbar: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)
    m: tuple[float, ...] | None = (0.0, 0.0025, 0.005, 0.01, 0.02)  # None: "auto"


@dataclass(frozen=True)
class PSMConfig:
    neighbours: int = 1
    caliper: float = 0.2
    replacement: bool = True


@dataclass(frozen=True)
class RobustnessConfig:
    winsorize: tuple[float, float] = (0.01, 0.99)
    drop_years: tuple[int, ...] = (2020, 2021, 2022)


@dataclass(frozen=True)
class DMLConfig:
    """Double machine learning: learners, fixed effects, cross-fitting (defaults equal
    data/study.toml)."""

    learners: tuple[str, ...] = ("lasso", "random_forest", "boosting", "neural_net", "stack")
    fe_handling: tuple[str, ...] = ("within", "dummies")
    learner: str = "stack"
    fe: str = "within"
    n_folds: int = 5
    robustness_folds: tuple[int, ...] = (2, 3, 10)
    n_rep: int = 10
    n_jobs: int = 2
    aux_learner: str = "lasso"
    did_learner: str = "lasso"
    did_control_group: str = "never_treated"
    did_n_rep: int = 10
    bootstrap_reps: int = 999

    @property
    def base_learners(self) -> tuple[str, ...]:
        """The learners that are fitted (everything listed but the stack)."""
        return tuple(name for name in self.learners if name != "stack")


@dataclass(frozen=True)
class AuditConfig:
    """Thresholds of the data audit (analysis/prepare/audit.py; defaults equal
    data/study.toml). `ranges`: (role, low, high) of roles whose values are shares or rates."""

    jump_ratio: float = 2.0
    jump_z: float = 6.0
    scale_tolerance: float = 0.15
    cross_orders: float = 2.5
    repeat_alpha: float = 0.001
    repeat_share_max: float = 0.5
    sum_tolerance: float = 0.05
    ranges: tuple[tuple[str, float, float], ...] = (("digital_employment_share", 0.0, 1.0),)


@dataclass(frozen=True)
class Declared:
    """A variable of `[variables]`: its expression as written, the parsed tree with its
    references bound to panel columns, whether it is one flag per unit (a split rule), and
    the panel columns it reads."""

    name: str
    expression: str
    tree: Node
    unit_level: bool
    reads: tuple[str, ...]


@dataclass(frozen=True)
class Config:
    """Everything a run needs to know, frozen."""

    panel: PanelConfig
    columns: dict[str, str]
    components: tuple[Component, ...]
    outcome: OutcomeConfig
    inputs: dict[str, str]
    model: ModelConfig
    inference: InferenceConfig
    treatment: TreatmentConfig
    sample: SampleConfig
    seed: int
    source: str = field(default=str(DEFAULT_CONFIG))
    callaway_santanna: CallawaySantAnnaConfig = field(default_factory=CallawaySantAnnaConfig)
    placebo: PlaceboConfig = field(default_factory=PlaceboConfig)
    honest_did: HonestDiDConfig = field(default_factory=HonestDiDConfig)
    psm: PSMConfig = field(default_factory=PSMConfig)
    robustness: RobustnessConfig = field(default_factory=RobustnessConfig)
    dml: DMLConfig = field(default_factory=DMLConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    wild_bootstrap: WildBootstrapConfig = field(default_factory=WildBootstrapConfig)
    randomization: RandomizationConfig = field(default_factory=RandomizationConfig)
    # [variables], in the order declared, and the columns of the user's file that the
    # configuration names (internal panel name -> header; analysis.config.variables).
    variables: tuple[Declared, ...] = ()
    user_columns: dict[str, str] = field(default_factory=dict)

    def label(self, name: str) -> str:
        """How a panel column is shown: a user column by its header, a mapped role's raw
        values by the role, anything else by its name."""
        if name in self.user_columns:
            return self.user_columns[name]
        return name.removeprefix("raw_") if name.startswith("raw_") else name

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration as plain data (for the manifest)."""
        from dataclasses import asdict

        out = asdict(self)
        out["variables"] = [
            {
                "name": d.name,
                "expression": d.expression,
                "unit_level": d.unit_level,
                "reads": list(d.reads),
            }
            for d in self.variables
        ]
        return out


# Allowed values of enumerated options: key -> allowed.
ALLOWED: dict[str, tuple[Any, ...]] = {
    "panel.city_key": ("code", "name"),
    "panel.units": ("cities", "any"),
    "panel.missing": ("interpolate", "drop"),
    "outcome.weights": ("pooled", "per_year"),
    # Only what every estimator of the study implements and records faithfully: clustered
    # errors with G-1 degrees of freedom (the study's design); the others are refused rather
    # than half supported.
    "inference.vcov": ("CRV1",),
    "inference.cluster": ("city_code",),
    "inference.k_fixef": ("nonnested", "full", "none"),
    "inference.G_df": ("min", "conventional"),
    "inference.t_df": ("min",),
    "treatment.source": ("pilot_zones", "column", "indicator"),
    "treatment.guizhou_year": (2015, 2016),
    "treatment.second_batch_year": (2016, 2017),
    "treatment.prd_scope": ("core9", "guangdong"),
    "treatment.shenyang_scope": ("city", "liaoning"),
    "sample.cities": ("registry", "all"),
    "callaway_santanna.bootstrap_weights": ("rademacher", "mammen", "webb"),
    "wild_bootstrap.weights": ("auto", "rademacher", "webb"),
    "randomization.scheme": ("auto", "zones", "units"),
    "randomization.statistic": ("t", "estimate"),
    # Names of analysis/estimators/learners.py (LEARNER_NAMES) and analysis/engines/doubleml_plr.py (FE_APPROACH).
    "dml.learner": ("lasso", "random_forest", "boosting", "neural_net", "linear", "stack"),
    "dml.fe": ("within", "dummies", "first_difference"),
    "dml.aux_learner": ("lasso", "random_forest", "boosting", "neural_net", "linear", "stack"),
    "dml.did_learner": ("lasso", "random_forest", "boosting", "neural_net", "linear"),
    "dml.did_control_group": ("never_treated", "not_yet_treated"),
}
# The variables the study can build (analysis.prepare.variables builds them; a test checks
# that the two lists agree).
CONTROL_NAMES = ("ln_gdp_pc", "urbanization", "fiscal", "finance", "fdi_share", "human_capital")
MECHANISM_NAMES = ("tech_innovation", "digital_infra", "rationalization")
MODERATOR_NAMES = ("east_coastal", "high_marketization", "high_digital_economy")
# Allowed elements of list-valued enumerated options: key -> allowed.
# ([model] controls, mechanisms, moderators and [callaway_santanna] covariates name any
# variable; analysis.config.variables resolves them.)
ALLOWED_ITEMS: dict[str, tuple[Any, ...]] = {
    "callaway_santanna.control_groups": ("nevertreated", "notyettreated"),
    "callaway_santanna.base_periods": ("varying", "universal"),
    "callaway_santanna.covariate_methods": ("dr", "reg", "ipw"),
    "dml.learners": ("lasso", "random_forest", "boosting", "neural_net", "linear", "stack"),
    "dml.fe_handling": ("within", "dummies", "first_difference"),
}
SUITE_TABLES = ("callaway_santanna", "placebo", "honest_did", "psm", "robustness", "dml")
# Inference with few treated clusters ([wild_bootstrap], [randomization]).
FEW_CLUSTER_TABLES = ("wild_bootstrap", "randomization")
