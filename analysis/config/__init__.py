"""The frozen request: every option of a run, resolved from TOML before any work starts.

`load_config(path)` reads the study's default (`data/study.toml`) and overlays the user's
file on it, table by table. Unknown tables or keys, wrong types and values outside their
allowed set are an `InputError` naming the file, the key and the allowed alternatives.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from analysis.config.audit import audit_table
from analysis.config.schema import (
    ALLOWED,
    ALLOWED_ITEMS,
    DATA_DIR,
    DEFAULT_CONFIG,
    DEFAULT_PANEL,
    DIMENSIONS,
    DIRECTIONS,
    FEW_CLUSTER_TABLES,
    REPO_ROOT,
    SUITE_TABLES,
    AuditConfig,
    CallawaySantAnnaConfig,
    Component,
    Config,
    Declared,
    DMLConfig,
    HonestDiDConfig,
    InferenceConfig,
    ModelConfig,
    OutcomeConfig,
    PanelConfig,
    PlaceboConfig,
    PSMConfig,
    RandomizationConfig,
    RobustnessConfig,
    SampleConfig,
    TreatmentConfig,
    WildBootstrapConfig,
)
from analysis.config.variables import resolve as resolve_names
from analysis.errors import InputError, choices, suggest

# The schema is re-exported: the rest of the package imports it from here.
__all__ = [
    "REPO_ROOT",
    "DATA_DIR",
    "DEFAULT_CONFIG",
    "DEFAULT_PANEL",
    "DIMENSIONS",
    "DIRECTIONS",
    "Component",
    "PanelConfig",
    "OutcomeConfig",
    "ModelConfig",
    "InferenceConfig",
    "TreatmentConfig",
    "SampleConfig",
    "CallawaySantAnnaConfig",
    "PlaceboConfig",
    "HonestDiDConfig",
    "PSMConfig",
    "RobustnessConfig",
    "DMLConfig",
    "AuditConfig",
    "WildBootstrapConfig",
    "RandomizationConfig",
    "Config",
    "Declared",
    "ALLOWED",
    "ALLOWED_ITEMS",
    "SUITE_TABLES",
    "load_config",
]


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise InputError(f"{path}: configuration file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None


MAPPINGS = ("components", "columns", "inputs")


def _check_mapping(table: str, values: dict[str, Any], base: dict[str, Any], path: Path) -> None:
    """Roles of [columns] and [inputs] are the study's (a user maps their names to them);
    [components] may name new roles. Every column name is text."""
    for role, column in values.items():
        if table != "components" and role not in base:
            raise InputError(
                f"{path}: [{table}] {role}: unknown role{suggest(role, base)}; allowed: "
                f"{choices(base)}"
            )
        if table != "components" and not isinstance(column, str):
            raise InputError(f"{path}: [{table}] {role} = {column!r} must be a column name (text)")
    if table == "columns":
        for role in ("city", "year"):
            if not values.get(role):
                raise InputError(
                    f"{path}: [columns] {role} is missing: name the column that holds the "
                    f'{"unit" if role == "city" else "year"} (e.g. {role} = "{base[role]}")'
                )


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
        if table == "variables":  # the user's own names (analysis.config.variables checks)
            merged[table] = dict(values)
            continue
        if table in MAPPINGS:
            # Mappings the user owns, replaced whole: an input or component the user does
            # not list is not in their data, and what needs it is not run (with the reason).
            _check_mapping(table, values, base[table], path)
            merged[table] = {k: v for k, v in values.items() if v != ""}
            continue
        for key, value in values.items():
            if key not in base[table]:
                raise InputError(
                    f"{path}: unknown key '{key}' in [{table}]{suggest(key, base[table])}; "
                    f"allowed: {choices(base[table])}"
                )
            if (table, key) == ("audit", "ranges") and isinstance(value, dict):
                value = {**base[table][key], **value}  # ranges are overlaid, role by role
            merged[table][key] = value
    return merged


AUTO_KEYS = {("honest_did", "m")}  # keys that take a list or "auto"


def _check_types(raw: dict[str, Any], defaults: dict[str, Any], path: Path) -> None:
    for table in (
        "panel",
        "outcome",
        "model",
        "inference",
        "treatment",
        "sample",
        "run",
        "audit",
        *SUITE_TABLES,
        *FEW_CLUSTER_TABLES,
    ):
        for key, value in raw[table].items():
            expected = type(defaults[table][key])
            ok = isinstance(value, expected) or (expected is float and isinstance(value, int))
            if (table, key) in AUTO_KEYS and value == "auto":
                ok = True
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


def _check_units(
    panel: dict[str, Any], treatment: dict[str, Any], sample: dict[str, Any], src: Path
) -> None:
    """With units of any kind, what needs the Chinese city registry cannot be asked for."""
    if panel["units"] != "any":
        return
    if treatment["source"] == "pilot_zones":
        raise InputError(
            f"{src}: [panel] units = 'any' needs the treatment from the data: set [treatment] "
            "source = 'column' (first treated year) or 'indicator' (0/1) and cohort_column; "
            "the pilot-zone list names Chinese cities"
        )
    for key, default in (("exclude_provinces", []), ("drop_municipalities", False)):
        if sample[key] != default:
            raise InputError(
                f"{src}: [sample] {key} needs the city registry; with [panel] units = 'any' "
                f"leave it at {default!r}"
            )
    if panel["city_key"] != "code":
        raise InputError(
            f"{src}: [panel] city_key = 'name' matches Chinese city names; with [panel] units "
            "= 'any' the ids in [columns] city are used as they are (city_key = 'code')"
        )


def load_config(path: str | Path | None = None, seed: int | None = None) -> Config:
    """Resolve the configuration: defaults, overlaid by `path`, then by an explicit seed."""
    defaults = _read_toml(DEFAULT_CONFIG)
    src = DEFAULT_CONFIG if path is None else Path(path)
    user = {} if path is None else _read_toml(src)
    raw = defaults if path is None else _merge(defaults, user, src)
    _check_types(raw, defaults, src)
    if raw["panel"].get("units") == "any" and "m" not in user.get("honest_did", {}):
        # the study's M grid is in the units of its index; on another panel the grid follows
        # the data (HonestDiD's default) unless the user sets one
        raw["honest_did"] = {**raw["honest_did"], "m": "auto"}
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
    if m["reference_period"] >= 0:
        raise InputError(
            f"{src}: [model] reference_period = {m['reference_period']} must be a "
            "pre-treatment period (negative)"
        )
    if t["source"] in ("column", "indicator") and not t["cohort_column"]:
        raise InputError(f"{src}: [treatment] source = '{t['source']}' needs cohort_column")
    _check_units(p, t, s, src)
    components = _components(raw["components"], src)
    if not o["column"] and len(components) < 2:
        raise InputError(f"{src}: the resilience index needs at least two [components]")
    names, declared, user_columns = resolve_names(raw, src)
    raw["callaway_santanna"] = {
        **raw["callaway_santanna"],
        "covariates": names["callaway_santanna.covariates"],
    }
    return Config(
        panel=PanelConfig(**p),
        columns=dict(raw["columns"]),
        components=components,
        outcome=OutcomeConfig(column=o["column"], weights=o["weights"], shift=float(o["shift"])),
        inputs=dict(raw["inputs"]),
        model=ModelConfig(
            controls=names["model.controls"],
            mechanisms=names["model.mechanisms"],
            moderators=names["model.moderators"],
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
        audit=audit_table(raw, src, set(user.get("audit", {}).get("ranges", {})), defaults),
        variables=declared,
        user_columns=user_columns,
        **_suite(raw, src),
        **_few_clusters(raw, src),
    )


def _few_clusters(raw: dict[str, Any], src: Path) -> dict[str, Any]:
    """[wild_bootstrap] and [randomization] (types and allowed values checked before)."""
    wild, ri = raw["wild_bootstrap"], raw["randomization"]
    for table, key, value in (
        ("wild_bootstrap", "reps", wild["reps"]),
        ("randomization", "permutations", ri["permutations"]),
    ):
        if value < 99:
            raise InputError(f"{src}: [{table}] {key} = {value} must be at least 99")
    if ri["scheme"] == "zones" and (
        raw["treatment"]["source"] != "pilot_zones" or raw["panel"]["units"] != "cities"
    ):
        raise InputError(
            f"{src}: [randomization] scheme = 'zones' needs the pilot-zone treatment ([treatment] "
            "source = 'pilot_zones', [panel] units = 'cities'); allowed here: 'units', 'auto'"
        )
    return {
        "wild_bootstrap": WildBootstrapConfig(
            reps=int(wild["reps"]), weights=wild["weights"], restricted=bool(wild["restricted"])
        ),
        "randomization": RandomizationConfig(
            scheme=ri["scheme"], permutations=int(ri["permutations"]), statistic=ri["statistic"]
        ),
    }


def _m_grid(value: Any, src: Path) -> tuple[float, ...] | None:
    """[honest_did] m: a list of M values in outcome units, or "auto" (None): HonestDiD's
    own default grid from the pre-period coefficients, which follows the outcome's scale."""
    if value == "auto":
        return None
    if not isinstance(value, list) or not all(isinstance(x, int | float) for x in value):
        raise InputError(
            f"{src}: [honest_did] m = {value!r} must be a list of numbers (outcome units per "
            'period squared) or "auto"'
        )
    return tuple(float(x) for x in value)


def _suite(raw: dict[str, Any], src: Path) -> dict[str, Any]:
    """The staggered-DID suite's tables ([callaway_santanna], [placebo], [honest_did], [psm],
    [robustness]) as frozen dataclasses, with their range checks."""
    cs, pl, hd, ps, rb, dm = (raw[t] for t in SUITE_TABLES)
    if cs["bootstrap_reps"] < 0 or pl["permutations"] < 1:
        raise InputError(
            f"{src}: [callaway_santanna] bootstrap_reps must be >= 0 and [placebo] "
            "permutations >= 1"
        )
    if not 0.5 < cs["trim_level"] <= 1:
        raise InputError(
            f"{src}: [callaway_santanna] trim_level = {cs['trim_level']} must be in (0.5, 1] "
            "(R's DRDID default 0.995; 1 trims no control unit)"
        )
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
            trim_level=float(cs["trim_level"]),
            bootstrap_reps=int(cs["bootstrap_reps"]),
            bootstrap_weights=cs["bootstrap_weights"],
        ),
        "placebo": PlaceboConfig(permutations=int(pl["permutations"])),
        "honest_did": HonestDiDConfig(
            mbar=tuple(float(x) for x in hd["mbar"]), m=_m_grid(hd["m"], src)
        ),
        "psm": PSMConfig(
            neighbours=int(ps["neighbours"]),
            caliper=float(ps["caliper"]),
            replacement=bool(ps["replacement"]),
        ),
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
        **{
            **d,
            "learners": tuple(d["learners"]),
            "fe_handling": tuple(d["fe_handling"]),
            "robustness_folds": tuple(int(k) for k in d["robustness_folds"]),
        }
    )
