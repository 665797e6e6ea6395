"""The R engines of the cross-check, in a registry: which R code reproduces a model.

An engine names the R packages it needs (the first one's version goes into `r_engine`),
says why it cannot run a specification, and turns a specification into one call of an R
function of rbridge/R (`RCall`: function name and arguments as plain values and arrays).
The same call runs through rpy2 in the cross-check and is written into replicate.R by
`python -m analysis export-r`, so both run the same R code with the same arguments. R
returns every number in the project's terms (key, quantity, value).

- `fixest`: fixest::feols (TWFE, i() event studies, sunab(), interactions), any vcov type;
- `base-r`: base R lm() with factor fixed effects and sandwich::vcovCL, with the small-sample
  factors computed explicitly (clustered errors only; the depth of a Debian-only R);
- `did`, `did2s`, `didimputation`, `bacondecomp`: rbridge/R/did.R;
- `fixest-placebo`, `base-r-placebo`, `HonestDiD`, `DoubleML`: rbridge/R/inference.R.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rbridge.packages import package_problem
from rbridge.session import RInfo, RSession
from rbridge.spec import RegressionSpec
from rbridge.spec_did import BaconSpec, Did2sSpec, DidSpec, ImputationSpec
from rbridge.spec_inference import DmlSpec, HonestSpec, PlaceboSpec

EVENT_PREFIX = "event_time"
SSC_NAMES = {
    "K_adj": "K.adj",
    "K_fixef": "K.fixef",
    "G_adj": "G.adj",
    "G_df": "G.df",
    "t_df": "t.df",
}


@dataclass(frozen=True)
class RCall:
    """One call of an R function of rbridge/R: `data` (the panel) first, then `args`."""

    function: str
    args: dict[str, Any]


@dataclass(frozen=True)
class RResult:
    """R's numbers of one model: `table` maps (key, quantity) to the value; `values` maps
    each term to its (estimate, std_error), NaN where R gives none."""

    table: dict[tuple[str, str], float] = field(default_factory=dict)

    def get(self, key: str, quantity: str) -> float | None:
        return self.table.get((key, quantity))

    @property
    def values(self) -> dict[str, tuple[float, float]]:
        terms = [k for k, q in self.table if q == "estimate" and k]
        return {
            t: (self.table[(t, "estimate")], self.table.get((t, "std_error"), np.nan))
            for t in terms
        }

    @property
    def n_obs(self) -> float | None:
        return self.get("", "n_obs")

    @property
    def n_clusters(self) -> float | None:
        return self.get("", "n_clusters")


class Engine:
    """An R implementation; subclasses set the attributes and `call`."""

    name = ""
    title = ""  # the r_engine label, before the package version
    r_function = ""  # what R runs, for messages
    packages: tuple[str, ...] = ()
    family = ""  # the tolerance family of its checks (rbridge/tolerances.py)
    missing = "fail"  # a key R does not report: 'fail' or 'skip'
    spec_type: type | tuple[type, ...] = ()
    refuses = "not a specification this engine mirrors"

    def unavailable(self, info: RInfo) -> str | None:
        return package_problem(info, self.packages)

    def unsupported(self, spec: Any) -> str | None:
        return None if isinstance(spec, self.spec_type) else self.refuses

    def call(self, spec: Any, inputs: dict[str, np.ndarray]) -> RCall:
        raise NotImplementedError

    def run(
        self,
        session: RSession,
        spec: Any,
        what: str,
        inputs: dict[str, np.ndarray] | None = None,
    ) -> RResult:
        rc = self.call(spec, inputs or {})
        return result(session.call(rc.function, f"{self.r_function} ({what})", **rc.args))


def result(out: dict[str, Any]) -> RResult:
    """R's long table (key, quantity, value) as an RResult."""
    keys = [k or "" for k in out["key"]]
    quantities = [str(q) for q in out["quantity"]]
    values = np.atleast_1d(np.asarray(out["value"], dtype=float))
    return RResult({(k, q): float(v) for k, q, v in zip(keys, quantities, values, strict=True)})


def _subset_args(spec: RegressionSpec) -> dict[str, Any]:
    s = spec.subset
    return {
        "subset_col": s.column if s else None,
        "subset_op": s.op if s else "==",
        "subset_vals": list(s.values) if s else None,
    }


def regression_args(spec: RegressionSpec) -> dict[str, Any]:
    """Formula and sample of a regression as bridge.R's arguments."""
    f = spec.formula
    return {
        "outcome": f.outcome,
        "regressors": list(f.regressors),
        "interactions": list(f.interactions),
        "event_var": f.event.var if f.event else None,
        "event_ref": list(f.event.ref) if f.event and f.event.ref else None,
        "fixef": [tuple(p) for p in f.fixef_parts()],
        **_subset_args(spec),
    }


def feols_args(spec: RegressionSpec) -> dict[str, Any]:
    """Every argument of rb_feols_fit: formula, sample, vcov and the ssc, explicitly."""
    sunab = spec.formula.sunab
    return {
        **regression_args(spec),
        "sunab_cohort": sunab.cohort if sunab else None,
        "sunab_period": sunab.period if sunab else None,
        "sunab_ref": sunab.ref if sunab else -1,
        "sunab_never": 0,
        "vcov_type": spec.vcov.type,
        "cluster": spec.vcov.cluster,
        **{r: getattr(spec.ssc, p) for p, r in SSC_NAMES.items()},
        # pyfixest's "singleton" is fixest's "singletons" (fixest >= 0.13)
        "fixef.rm": {"none": "none", "singleton": "singletons"}[spec.ssc.fixef_rm],
    }


def _wald_ref(spec: RegressionSpec) -> int | None:
    event = spec.formula.event
    return event.ref[0] if event and event.ref else None


class FixestEngine(Engine):
    r_function = "fixest::feols"
    name, title, packages, family = "fixest", "fixest", ("fixest",), "fixest"
    spec_type, refuses = RegressionSpec, "not a fixed-effects regression"

    def call(self, spec: RegressionSpec, inputs: dict[str, np.ndarray]) -> RCall:
        args = {**feols_args(spec), "wald_ref": _wald_ref(spec), "term_prefix": EVENT_PREFIX}
        return RCall("rb_feols", args)


class BaseREngine(Engine):
    r_function = "lm + sandwich::vcovCL"
    name, title, packages, family = "base-r", "base-r lm+sandwich", ("sandwich",), "base-r"

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

    def call(self, spec: RegressionSpec, inputs: dict[str, np.ndarray]) -> RCall:
        ssc = {
            r: getattr(spec.ssc, p)
            for p, r in SSC_NAMES.items()
            if r in ("K.adj", "K.fixef", "G.adj")
        }
        args = {
            **regression_args(spec),
            "cluster": spec.vcov.cluster,
            **ssc,
            "wald_ref": _wald_ref(spec),
        }
        return RCall("rb_lm", args)


class DidEngine(Engine):
    r_function = "did::att_gt"
    name, title, packages, family, missing = "did", "did", ("did",), "did", "skip"
    spec_type, refuses = DidSpec, "not a Callaway-Sant'Anna estimate"

    def call(self, spec: DidSpec, inputs: dict[str, np.ndarray]) -> RCall:
        return RCall(
            "rb_did",
            {
                "yname": spec.outcome,
                "tname": spec.time,
                "idname": spec.unit,
                "gname": spec.cohort,
                "covariates": list(spec.covariates) or None,
                "control_group": spec.control_group,
                "base_period": spec.base_period,
                "est_method": spec.est_method,
                "anticipation": spec.anticipation,
            },
        )


class Did2sEngine(Engine):
    r_function = "did2s::did2s"
    name, title, packages, family = "did2s", "did2s", ("did2s", "fixest"), "did2s"
    spec_type, refuses = Did2sSpec, "not a two-stage DID"

    def call(self, spec: Did2sSpec, inputs: dict[str, np.ndarray]) -> RCall:
        return RCall(
            "rb_did2s",
            {
                "yname": spec.outcome,
                "fixef": [tuple(f.split("^")) for f in spec.fixef],
                "event_var": spec.event_var,
                "event_ref": list(spec.ref),
                "cohort": spec.cohort,
                "never": spec.never,
                "treatment": spec.treatment,
                "cluster": spec.cluster,
                "term_prefix": EVENT_PREFIX,
            },
        )


class ImputationEngine(Engine):
    r_function = "didimputation::did_imputation"
    name, title, packages = "didimputation", "didimputation", ("didimputation", "fixest")
    family, spec_type, refuses = "didimputation", ImputationSpec, "not an imputation estimate"

    def call(self, spec: ImputationSpec, inputs: dict[str, np.ndarray]) -> RCall:
        return RCall(
            "rb_imputation",
            {
                "yname": spec.outcome,
                "gname": spec.cohort,
                "tname": spec.time,
                "idname": spec.unit,
                "term_prefix": EVENT_PREFIX,
            },
        )


class BaconEngine(Engine):
    r_function = "bacondecomp::bacon"
    name, title, packages, family = "bacondecomp", "bacondecomp", ("bacondecomp",), "bacondecomp"
    spec_type, refuses = BaconSpec, "not a Goodman-Bacon decomposition"

    def call(self, spec: BaconSpec, inputs: dict[str, np.ndarray]) -> RCall:
        return RCall(
            "rb_bacon",
            {
                "outcome": spec.outcome,
                "treatment": spec.treatment,
                "unit": spec.unit,
                "time": spec.time,
            },
        )


def _placebo_args(spec: PlaceboSpec, inputs: dict[str, np.ndarray]) -> dict[str, Any]:
    return {
        "outcome": spec.outcome,
        "treatment": spec.treatment,
        "fixef": [(spec.unit,), (spec.time,)],
        "unit": spec.unit,
        "time": spec.time,
        "cities": inputs["cities"],
        "cohorts": inputs["cohorts"],
        "tie": spec.tie,
    }


class PlaceboFixestEngine(Engine):
    r_function = "fixest::feols over the permutations"
    name, title, packages, family = "fixest-placebo", "fixest", ("fixest",), "fixest"
    spec_type, refuses = PlaceboSpec, "not a randomization test"

    def call(self, spec: PlaceboSpec, inputs: dict[str, np.ndarray]) -> RCall:
        return RCall("rb_placebo_feols", _placebo_args(spec, inputs))


class PlaceboLmEngine(Engine):
    r_function = "lm.fit over the permutations"
    name, title, packages, family = "base-r-placebo", "base-r lm.fit", (), "base-r"
    spec_type, refuses = PlaceboSpec, "not a randomization test"

    def call(self, spec: PlaceboSpec, inputs: dict[str, np.ndarray]) -> RCall:
        return RCall("rb_placebo_lm", _placebo_args(spec, inputs))


class HonestEngine(Engine):
    r_function = "HonestDiD on fixest::feols"
    name, title, packages = "HonestDiD", "HonestDiD", ("HonestDiD", "fixest")
    family, spec_type, refuses = "HonestDiD", HonestSpec, "not a HonestDiD sensitivity set"

    def call(self, spec: HonestSpec, inputs: dict[str, np.ndarray]) -> RCall:
        return RCall(
            "rb_honest",
            {
                "event_args": feols_args(spec.event),
                "method": spec.method,
                "keys": list(spec.keys),
                "grid": list(spec.grid),
                "alpha": spec.alpha,
                "honest_ref": spec.honest_ref,
                "post_max": spec.post_max,
                "breakdown": spec.breakdown,
                "breakdown_max": spec.breakdown_max,
                "breakdown_tol": spec.breakdown_tol,
            },
        )


class DoubleMLEngine(Engine):
    r_function = "DoubleML::DoubleMLPLR"
    name, title = "DoubleML", "DoubleML"
    packages = ("DoubleML", "mlr3", "mlr3learners", "data.table")
    family, spec_type, refuses = "DoubleML", DmlSpec, "not a DML partially linear model"

    def call(self, spec: DmlSpec, inputs: dict[str, np.ndarray]) -> RCall:
        return RCall(
            "rb_dml_plr",
            {
                "outcome": spec.outcome,
                "treatment": spec.treatment,
                "controls": list(spec.controls),
                "fe": spec.fe,
                "unit": spec.unit,
                "time": spec.time,
                "cities": inputs["cities"],
                "folds": inputs["folds"],
            },
        )


ENGINES: dict[str, Engine] = {
    e.name: e
    for e in (
        FixestEngine(),
        BaseREngine(),
        DidEngine(),
        Did2sEngine(),
        ImputationEngine(),
        BaconEngine(),
        PlaceboFixestEngine(),
        PlaceboLmEngine(),
        HonestEngine(),
        DoubleMLEngine(),
    )
}
# Engines to try, best first, for each kind of model.
PREFERENCE: dict[str, tuple[str, ...]] = {
    "regression": ("fixest", "base-r"),
    "did": ("did",),
    "did2s": ("did2s",),
    "imputation": ("didimputation",),
    "bacon": ("bacondecomp",),
    "placebo": ("fixest-placebo", "base-r-placebo"),
    "honest": ("HonestDiD",),
    "dml": ("DoubleML",),
}


def label(engine: Engine, info: RInfo) -> str:
    """The `r_engine` of crosscheck.csv: the engine and the version of its R package."""
    if not engine.packages:
        return f"{engine.title} R {info.r_version}"
    return f"{engine.title} {info.packages.get(engine.packages[0])}"
