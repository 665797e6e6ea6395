"""The frozen request: every option of a run, resolved from TOML before any work starts.

`load_config(path)` reads the study's default (`data/study.toml`) and overlays the user's
file on it, table by table. Unknown tables or keys, wrong types and values outside their
allowed set are an `InputError` naming the file, the key and the allowed alternatives.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.errors import InputError, choices, suggest

REPO_ROOT = Path(__file__).resolve().parents[1]
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
    pscore_trim: float = 1e-6
    bootstrap_reps: int = 999
    bootstrap_weights: str = "rademacher"


@dataclass(frozen=True)
class PlaceboConfig:
    permutations: int = 1000


@dataclass(frozen=True)
class HonestDiDConfig:
    mbar: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)
    m: tuple[float, ...] = (0.0, 0.0025, 0.005, 0.01, 0.02)


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

    def to_dict(self) -> dict[str, Any]:
        """The resolved configuration as plain data (for the manifest)."""
        from dataclasses import asdict

        return asdict(self)


# Allowed values of enumerated options: key -> allowed.
ALLOWED: dict[str, tuple[Any, ...]] = {
    "panel.city_key": ("code", "name"),
    "panel.missing": ("interpolate", "drop"),
    "outcome.weights": ("pooled", "per_year"),
    "inference.vcov": ("CRV1", "hetero", "iid"),
    "inference.k_fixef": ("nonnested", "full", "none"),
    "inference.G_df": ("min", "conventional"),
    "inference.t_df": ("min", "conventional"),
    "treatment.source": ("pilot_zones", "column", "indicator"),
    "treatment.guizhou_year": (2015, 2016),
    "treatment.second_batch_year": (2016, 2017),
    "treatment.prd_scope": ("core9", "guangdong"),
    "treatment.shenyang_scope": ("city", "liaoning"),
    "sample.cities": ("registry", "all"),
    "callaway_santanna.bootstrap_weights": ("rademacher", "mammen", "webb"),
    # Names of analysis/estimators/learners.py (LEARNER_NAMES) and dml_core.py (FE_APPROACH).
    "dml.learner": ("lasso", "random_forest", "boosting", "neural_net", "linear", "stack"),
    "dml.fe": ("within", "dummies", "first_difference"),
    "dml.aux_learner": ("lasso", "random_forest", "boosting", "neural_net", "linear", "stack"),
    "dml.did_learner": ("lasso", "random_forest", "boosting", "neural_net", "linear"),
    "dml.did_control_group": ("never_treated", "not_yet_treated"),
}
# Allowed elements of list-valued enumerated options: key -> allowed.
ALLOWED_ITEMS: dict[str, tuple[Any, ...]] = {
    "callaway_santanna.control_groups": ("nevertreated", "notyettreated"),
    "callaway_santanna.base_periods": ("varying", "universal"),
    "callaway_santanna.covariate_methods": ("dr", "reg", "ipw"),
    "dml.learners": ("lasso", "random_forest", "boosting", "neural_net", "linear", "stack"),
    "dml.fe_handling": ("within", "dummies", "first_difference"),
}
SUITE_TABLES = ("callaway_santanna", "placebo", "honest_did", "psm", "robustness", "dml")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise InputError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None


def _merge(base: dict[str, Any], user: dict[str, Any], path: Path) -> dict[str, Any]:
    """Overlay the user's tables on the defaults; unknown tables and keys are errors."""
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for table, values in user.items():
        if table not in base:
            raise InputError(
                f"{path}: unknown table [{table}]{suggest(table, base)}; allowed: {choices(base)}"
            )
        if not isinstance(values, dict):
            raise InputError(f"{path}: [{table}] must be a table")
        if table in ("components", "columns", "inputs"):
            # Mappings the user owns: components are replaced whole, columns/inputs overlaid.
            merged[table] = dict(values) if table == "components" else {**base[table], **values}
            continue
        for key, value in values.items():
            if key not in base[table]:
                raise InputError(
                    f"{path}: unknown key '{key}' in [{table}]{suggest(key, base[table])}; "
                    f"allowed: {choices(base[table])}"
                )
            merged[table][key] = value
    return merged


def _check_types(raw: dict[str, Any], defaults: dict[str, Any], path: Path) -> None:
    for table in ("panel", "outcome", "model", "inference", "treatment", "sample", "run",
                  *SUITE_TABLES):  # fmt: skip
        for key, value in raw[table].items():
            expected = type(defaults[table][key])
            ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
            if expected is int and isinstance(value, bool):
                ok = False
            if not ok:
                raise InputError(
                    f"{path}: [{table}] {key} = {value!r} must be of type {expected.__name__}"
                )
            allowed = ALLOWED.get(f"{table}.{key}")
            if allowed is not None and value not in allowed:
                raise InputError(
                    f"{path}: [{table}] {key} = {value!r} is not allowed; "
                    f"allowed: {choices(str(a) for a in allowed)}"
                )
            items = ALLOWED_ITEMS.get(f"{table}.{key}", ())
            for item in value if items else ():
                if item not in items:
                    raise InputError(
                        f"{path}: [{table}] {key}: {item!r} is not allowed; "
                        f"allowed: {choices(str(a) for a in items)}"
                    )


def _components(raw: dict[str, Any], path: Path) -> tuple[Component, ...]:
    out = []
    for role, spec in raw.items():
        if not isinstance(spec, dict) or set(spec) != {"column", "direction", "dimension"}:
            raise InputError(
                f"{path}: [components] {role} must be {{column, direction, dimension}}"
            )
        if spec["direction"] not in DIRECTIONS:
            raise InputError(
                f"{path}: [components] {role} direction {spec['direction']!r} is not "
                f"allowed; allowed: {choices(DIRECTIONS)}"
            )
        if spec["dimension"] not in DIMENSIONS:
            raise InputError(
                f"{path}: [components] {role} dimension {spec['dimension']!r} is not "
                f"allowed; allowed: {choices(DIMENSIONS)}"
            )
        out.append(Component(role, str(spec["column"]), spec["direction"], spec["dimension"]))
    return tuple(out)


def load_config(path: str | Path | None = None, seed: int | None = None) -> Config:
    """Resolve the configuration: defaults, overlaid by `path`, then by an explicit seed."""
    defaults = _read_toml(DEFAULT_CONFIG)
    src = DEFAULT_CONFIG if path is None else Path(path)
    raw = defaults if path is None else _merge(defaults, _read_toml(src), src)
    _check_types(raw, defaults, src)
    p, o, m, i, t, s = (
        raw[k] for k in ("panel", "outcome", "model", "inference", "treatment", "sample")
    )
    if p["first_year"] >= p["last_year"]:
        raise InputError(f"{src}: [panel] first_year must be before last_year")
    if not (0.5 < i["level"] < 1):
        raise InputError(f"{src}: [inference] level = {i['level']} must be between 0.5 and 1")
    window = tuple(m["event_window"])
    if len(window) != 2 or not window[0] < m["reference_period"] < window[1]:
        raise InputError(
            f"{src}: [model] event_window {list(window)} must be [low, high] around "
            f"reference_period {m['reference_period']}"
        )
    if t["source"] == "column" and not t["cohort_column"]:
        raise InputError(f"{src}: [treatment] source = 'column' needs cohort_column")
    components = _components(raw["components"], src)
    if not o["column"] and len(components) < 2:
        raise InputError(f"{src}: the resilience index needs at least two [components]")
    return Config(
        panel=PanelConfig(**p),
        columns=dict(raw["columns"]),
        components=components,
        outcome=OutcomeConfig(column=o["column"], weights=o["weights"], shift=float(o["shift"])),
        inputs=dict(raw["inputs"]),
        model=ModelConfig(
            controls=tuple(m["controls"]),
            mechanisms=tuple(m["mechanisms"]),
            moderators=tuple(m["moderators"]),
            event_window=(int(window[0]), int(window[1])),
            reference_period=int(m["reference_period"]),
        ),
        inference=InferenceConfig(**{**i, "level": float(i["level"])}),
        treatment=TreatmentConfig(**t),
        sample=SampleConfig(
            cities=s["cities"],
            exclude_provinces=tuple(s["exclude_provinces"]),
            drop_municipalities=s["drop_municipalities"],
            drop_years=tuple(int(y) for y in s["drop_years"]),
        ),
        seed=int(raw["run"]["seed"] if seed is None else seed),
        source=str(src),
        **_suite(raw, src),
    )


def _suite(raw: dict[str, Any], src: Path) -> dict[str, Any]:
    """The staggered-DID suite's tables ([callaway_santanna], [placebo], [honest_did], [psm],
    [robustness]) as frozen dataclasses, with their range checks."""
    cs, pl, hd, ps, rb, dm = (raw[t] for t in SUITE_TABLES)
    if cs["bootstrap_reps"] < 0 or pl["permutations"] < 1:
        raise InputError(
            f"{src}: [callaway_santanna] bootstrap_reps must be >= 0 and [placebo] "
            "permutations >= 1"
        )
    if not 0 < cs["pscore_trim"] < 0.5:
        raise InputError(f"{src}: [callaway_santanna] pscore_trim must be in (0, 0.5)")
    if ps["neighbours"] < 1 or ps["caliper"] <= 0:
        raise InputError(f"{src}: [psm] neighbours must be >= 1 and caliper > 0")
    lo, hi = (float(q) for q in rb["winsorize"])
    if not 0 <= lo < hi <= 1:
        raise InputError(
            f"{src}: [robustness] winsorize = {rb['winsorize']} must be [low, high] in [0, 1]"
        )
    return {
        "callaway_santanna": CallawaySantAnnaConfig(
            control_groups=tuple(cs["control_groups"]),
            base_periods=tuple(cs["base_periods"]),
            covariates=tuple(cs["covariates"]),
            covariate_methods=tuple(cs["covariate_methods"]),
            pscore_trim=float(cs["pscore_trim"]),
            bootstrap_reps=int(cs["bootstrap_reps"]),
            bootstrap_weights=cs["bootstrap_weights"],
        ),
        "placebo": PlaceboConfig(permutations=int(pl["permutations"])),
        "honest_did": HonestDiDConfig(
            mbar=tuple(float(x) for x in hd["mbar"]), m=tuple(float(x) for x in hd["m"])
        ),
        "psm": PSMConfig(
            neighbours=int(ps["neighbours"]),
            caliper=float(ps["caliper"]),
            replacement=bool(ps["replacement"]),
        ),  # fmt: skip
        "robustness": RobustnessConfig(
            winsorize=(lo, hi), drop_years=tuple(int(y) for y in rb["drop_years"])
        ),
        "dml": _dml(dm, src),
    }


def _dml(raw: dict[str, Any], path: Path) -> DMLConfig:
    """The [dml] table, checked beyond types: consistent choices and sensible counts."""
    d = dict(raw)
    for key in ("learners", "fe_handling"):
        if not d[key] or len(set(d[key])) != len(d[key]):
            raise InputError(
                f"{path}: [dml] {key} = {d[key]!r} must be a non-empty list without repeats"
            )
    if any(not isinstance(k, int) or isinstance(k, bool) or k < 2 for k in d["robustness_folds"]):
        raise InputError(
            f"{path}: [dml] robustness_folds = {d['robustness_folds']!r} must be integers "
            "of at least 2"
        )
    base = [name for name in d["learners"] if name != "stack"]
    if "stack" in (*d["learners"], d["aux_learner"]) and len(base) < 2:
        raise InputError(
            f"{path}: [dml] 'stack' needs at least two other learners in learners to combine"
        )
    for key, among in (("learner", "learners"), ("fe", "fe_handling")):
        if d[key] not in d[among]:
            raise InputError(
                f"{path}: [dml] {key} = {d[key]!r} must be one of {among}; "
                f"allowed: {choices(d[among])}"
            )
    minimum = {"n_folds": 2, "n_rep": 1, "n_jobs": 1, "did_n_rep": 1, "bootstrap_reps": 99}
    for key, low in minimum.items():
        if d[key] < low:
            raise InputError(f"{path}: [dml] {key} = {d[key]} must be at least {low}")
    return DMLConfig(
        **{**d, "learners": tuple(d["learners"]), "fe_handling": tuple(d["fe_handling"]),
           "robustness_folds": tuple(int(k) for k in d["robustness_folds"])}
    )  # fmt: skip
