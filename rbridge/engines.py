"""The R engines of the cross-check, in a registry: which R code reproduces a model.

- `fixest`: fixest::feols (TWFE, i() event studies, sunab(), interactions), any vcov type;
- `base-r`: base R lm() with factor fixed effects and sandwich::vcovCL, with the small-sample
  factors computed explicitly (clustered errors only; the depth of a Debian-only R);
- `did`: did::att_gt and did::aggte (Callaway and Sant'Anna).

Each engine says why it cannot run (package missing or too old, specification outside what
it mirrors) or returns the R values by term, in the project's term names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from rbridge.session import RInfo, RSession, first
from rbridge.spec import DidSpec, RegressionSpec

# Versions the bridge was validated with, and the oldest that have the arguments it passes
# (fixest renamed the ssc() arguments in 0.13.0; did added base_period in 2.1.0).
VALIDATED = {"R": "4.2.2", "fixest": "0.14.2", "did": "2.1.2", "sandwich": "3.0-2"}
MINIMUM = {"fixest": "0.13.0", "did": "2.1.0", "sandwich": "2.5-0"}
EVENT_PREFIX = "event_time::"


@dataclass(frozen=True)
class RResult:
    """R's values of one model: term -> (estimate, std_error), the vcov of the
    regression terms (for derived statistics) and the sample counts."""

    values: dict[str, tuple[float, float]]
    vcov: pd.DataFrame | None = None
    n_obs: float | None = None
    n_clusters: float | None = None


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.replace("-", ".").split(".") if x.isdigit())


def _package_problem(info: RInfo, package: str) -> str | None:
    if not info.available:
        return info.reason
    version = info.packages.get(package)
    if version is None:
        return f"R package {package} is not installed"
    if _version_tuple(version) < _version_tuple(MINIMUM[package]):
        return f"R package {package} {version} is older than {MINIMUM[package]}"
    return None


class Engine(Protocol):
    name: str
    package: str

    def unavailable(self, info: RInfo) -> str | None: ...

    def unsupported(self, spec: Any) -> str | None: ...

    def run(self, session: RSession, spec: Any, what: str) -> RResult: ...


def _regression_args(spec: RegressionSpec) -> dict[str, Any]:
    f = spec.formula
    return {
        "outcome": f.outcome,
        "regressors": list(f.regressors),
        "interactions": list(f.interactions),
        "event_var": f.event.var if f.event else None,
        "event_ref": list(f.event.ref) if f.event and f.event.ref else None,
        "fixef": list(f.fixef),
        "subset_col": spec.subset.column if spec.subset else None,
        "subset_val": spec.subset.value if spec.subset else None,
    }


def _regression_result(out: dict[str, Any], rename: dict[str, str]) -> RResult:
    terms = [rename.get(t, t) for t in out["term"]]
    values = {
        t: (float(b), float(s))
        for t, b, s in zip(terms, out["estimate"], out["std_error"], strict=True)
    }
    vcov = None
    if out.get("vcov") is not None:
        vcov = pd.DataFrame(np.atleast_2d(out["vcov"]), index=terms, columns=terms)
    return RResult(values, vcov, float(first(out["n_obs"])), float(first(out["n_clusters"])))


class FixestEngine:
    name = "fixest"
    package = "fixest"

    def unavailable(self, info: RInfo) -> str | None:
        return _package_problem(info, self.package)

    def unsupported(self, spec: Any) -> str | None:
        return None if isinstance(spec, RegressionSpec) else "not a fixed-effects regression"

    def run(self, session: RSession, spec: RegressionSpec, what: str) -> RResult:
        sunab = spec.formula.sunab
        out = session.call(
            "rb_feols",
            f"fixest::feols ({what})",
            **_regression_args(spec),
            sunab_cohort=sunab.cohort if sunab else None,
            sunab_period=sunab.period if sunab else None,
            sunab_ref=sunab.ref if sunab else None,
            sunab_never=0,
            vcov_type=spec.vcov.type,
            cluster=spec.vcov.cluster,
            **{
                "K.adj": spec.ssc.K_adj,
                "K.fixef": spec.ssc.K_fixef,
                "G.adj": spec.ssc.G_adj,
                "G.df": spec.ssc.G_df,
                "t.df": spec.ssc.t_df,
                # pyfixest's "singleton" is fixest's "singletons" (fixest >= 0.13)
                "fixef.rm": {"none": "none", "singleton": "singletons"}[spec.ssc.fixef_rm],
            },
        )
        # sunab() names its coefficients after the period variable: year::-3 -> event_time::-3
        rename = {}
        if sunab:
            rename = {t: EVENT_PREFIX + t.split("::", 1)[1] for t in out["term"] if "::" in t}
        result = _regression_result(out, rename)
        if sunab and "att" in out:
            att = out["att"]
            result.values["ATT"] = (float(att[0]), float(att[1]))
        return result


class BaseREngine:
    name = "base-r"
    package = "sandwich"

    def unavailable(self, info: RInfo) -> str | None:
        return _package_problem(info, self.package)

    def unsupported(self, spec: Any) -> str | None:
        if not isinstance(spec, RegressionSpec):
            return "not a fixed-effects regression"
        if spec.formula.sunab:
            return "sunab() needs fixest"
        if spec.vcov.type != "CRV1":
            return f"base R reproduces clustered (CRV1) errors only, not '{spec.vcov.type}'"
        if spec.ssc.fixef_rm != "none":
            return f"base R keeps every observation (fixef.rm = none), not '{spec.ssc.fixef_rm}'"
        return None

    def run(self, session: RSession, spec: RegressionSpec, what: str) -> RResult:
        out = session.call(
            "rb_lm",
            f"lm + sandwich::vcovCL ({what})",
            **_regression_args(spec),
            cluster=spec.vcov.cluster,
            **{"K.adj": spec.ssc.K_adj, "K.fixef": spec.ssc.K_fixef, "G.adj": spec.ssc.G_adj},
        )
        return _regression_result(out, {})


class DidEngine:
    name = "did"
    package = "did"

    def unavailable(self, info: RInfo) -> str | None:
        return _package_problem(info, self.package)

    def unsupported(self, spec: Any) -> str | None:
        return None if isinstance(spec, DidSpec) else "not a Callaway-Sant'Anna estimate"

    def run(self, session: RSession, spec: DidSpec, what: str) -> RResult:
        out = session.call(
            "rb_did",
            f"did::att_gt ({what})",
            yname=spec.outcome,
            tname=spec.time,
            idname=spec.unit,
            gname=spec.cohort,
            control_group=spec.control_group,
            base_period=spec.base_period,
            est_method=spec.est_method,
            anticipation=spec.anticipation,
        )
        return RResult(did_values(out))


def did_values(out: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """did's results in the project's term names, keyed 'simple/ATT', 'dynamic/event_time::k',
    'group/cohort::g', 'attgt/attgt::g:t' (and 'dynamic/ATT', 'group/ATT' for the overall)."""
    values: dict[str, tuple[float, float]] = {}
    a = out["attgt"]
    for g, t, att, se in zip(a["group"], a["t"], a["att"], a["se"], strict=True):
        values[f"attgt/attgt::{int(g)}:{int(t)}"] = (float(att), float(se))
    for kind, prefix in (("simple", None), ("dynamic", EVENT_PREFIX), ("group", "cohort::")):
        agg = out[kind]
        overall = (float(agg["overall"][0]), float(agg["overall"][1]))
        values[f"{kind}/ATT"] = overall
        values[f"{kind}/overall"] = overall  # the project's term for an aggregation's summary
        if prefix:
            for e, att, se in zip(agg["egt"], agg["att"], agg["se"], strict=True):
                values[f"{kind}/{prefix}{int(e)}"] = (float(att), float(se))
    return values


ENGINES: dict[str, Engine] = {e.name: e for e in (FixestEngine(), BaseREngine(), DidEngine())}
# Engines to try, best first, for each kind of model.
PREFERENCE = {"regression": ("fixest", "base-r"), "did": ("did",)}


def label(engine: Engine, info: RInfo) -> str:
    """The `r_engine` of crosscheck.csv: the engine and the version of its R package."""
    version = info.packages.get(engine.package)
    if engine.name == "base-r":
        return f"base-r lm+sandwich {version}"
    return f"{engine.name} {version}"
