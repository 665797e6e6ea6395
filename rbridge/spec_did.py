"""Specifications of the staggered-adoption estimators, read from the `formula` text their
rows record in the syntax of the R package that mirrors each, and from the structured
columns of estimates.csv (aggregation, control_group, base_period):

- Callaway-Sant'Anna: `att_gt(yname='y', tname='year', idname='city_code',
  gname='first_treat', xformla=NULL | ~x1 + x2, control_group='...', base_period='...',
  est_method='dr' | 'reg' | 'ipw', bstrap=FALSE | TRUE, ..., clustervars=NULL)[;
  aggte(type='...')]`;
- Gardner's two stages: `did2s(yname='y', first_stage=~0 | fe1 + fe2, second_stage=~i(v,
  ref=c(k, Inf)), treatment='d', cluster_var='c'); v = Inf where g == 0; ATT:
  second_stage=~d`;
- imputation: `did_imputation(yname='y', gname='g', tname='t', idname='i', [horizon=TRUE, ]
  pretrends=TRUE)`;
- Goodman-Bacon: the TWFE formula `y ~ d | unit + time` it decomposes.

Names are checked as in rbridge.spec (plain identifiers, later checked against the panel);
anything else raises `Unsupported` and the checks are skipped with that reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rbridge.spec import INT, NAME, Formula, Unsupported, _ints, _name, _split_top

CONTROL_GROUPS = ("nevertreated", "notyettreated")
BASE_PERIODS = ("varying", "universal")
EST_METHODS = ("dr", "reg", "ipw")
AGGREGATIONS = ("attgt", "simple", "dynamic", "group", "calendar")


def parse_call(text: str, fun: str) -> dict[str, str]:
    """The keyword arguments of `fun(k1=v1, k2=v2, ...)` as raw texts."""
    m = re.fullmatch(rf"\s*{fun}\s*\((.*)\)\s*", text, flags=re.DOTALL)
    if m is None:
        raise Unsupported(f"'{text}' is not a call of {fun}()")
    args: dict[str, str] = {}
    for part in _split_top(m.group(1), ","):
        key, eq, value = part.partition("=")
        if not eq or not NAME.fullmatch(key.strip()):
            raise Unsupported(f"'{part}' in {fun}() is not a keyword argument")
        args[key.strip()] = value.strip()
    return args


def _quoted(args: dict[str, str], key: str, fun: str) -> str:
    value = args.get(key)
    if value is None:
        raise Unsupported(f"{fun}() does not state {key}")
    m = re.fullmatch(r"'([^'\\]*)'|\"([^\"\\]*)\"", value)
    if m is None:
        raise Unsupported(f"{fun}(): {key}={value} is not a quoted name")
    return _name(m.group(1) if m.group(1) is not None else m.group(2), f"{fun}({key})")


def _choice(args: dict[str, str], key: str, fun: str, allowed: tuple[str, ...]) -> str:
    value = args[key].strip("'\"") if key in args else ""
    if value not in allowed:
        raise Unsupported(f"{fun}(): {key} must be one of {', '.join(allowed)}, not '{value}'")
    return value


def _flag(args: dict[str, str], key: str, fun: str, default: bool | None = None) -> bool:
    value = args.get(key)
    if value is None and default is not None:
        return default
    if value not in ("TRUE", "FALSE"):
        raise Unsupported(f"{fun}(): {key} must be TRUE or FALSE, not {value}")
    return value == "TRUE"


def _plain_formula_names(text: str, where: str) -> tuple[str, ...]:
    """The names of a one-sided formula `~a + b` (no transformations)."""
    if not text.startswith("~"):
        raise Unsupported(f"{where}: '{text}' is not a one-sided formula")
    return tuple(_name(p, where) for p in text[1:].split("+"))


@dataclass(frozen=True)
class DidSpec:
    """Callaway and Sant'Anna as the bridge runs it with `did::att_gt`: covariates in xformla
    (none by default), analytical standard errors at the unit level (`bstrap = FALSE`), every
    aggregation computed from the one fit."""

    outcome: str
    time: str = "year"
    unit: str = "city_code"
    cohort: str = "first_treat"
    control_group: str = "nevertreated"
    base_period: str = "varying"
    est_method: str = "dr"
    covariates: tuple[str, ...] = ()
    anticipation: int = 0

    def columns(self) -> list[str]:
        return [self.outcome, self.time, self.unit, self.cohort, *self.covariates]


@dataclass(frozen=True)
class DidRows:
    """What a Callaway-Sant'Anna model's rows say: the fit, its aggregation and whether its
    standard errors come from a bootstrap (whose draws no other implementation repeats)."""

    spec: DidSpec
    aggregation: str
    bootstrap: bool


def parse_did(formula: str, aggregation: str, control_group: str, base_period: str) -> DidRows:
    """The att_gt call of a Callaway-Sant'Anna row and its aggregation. The structured
    columns are authoritative; the formula text must agree with them."""
    parts = _split_top(formula, ";")
    args = parse_call(parts[0], "att_gt")
    agg = aggregation or "attgt"
    if len(parts) > 2:
        raise Unsupported(f"'{formula}': one att_gt() and at most one aggte() are mirrored")
    if len(parts) == 2:
        agg_args = parse_call(parts[1], "aggte")
        if set(agg_args) != {"type"}:
            raise Unsupported(f"'{parts[1]}': aggte() options other than type are not mirrored")
        typed = _choice(agg_args, "type", "aggte", AGGREGATIONS)
        if aggregation and typed != aggregation:
            raise Unsupported(f"aggregation '{aggregation}' but the formula says aggte('{typed}')")
        agg = typed
    if agg not in AGGREGATIONS:
        raise Unsupported(f"aggregation '{agg}' is not one of {', '.join(AGGREGATIONS)}")
    for key, column in (("control_group", control_group), ("base_period", base_period)):
        if column and args.get(key, "").strip("'\"") != column:
            raise Unsupported(f"{key} '{column}' but the formula says {key}={args.get(key)}")
    if args.get("clustervars", "NULL") != "NULL":
        raise Unsupported("att_gt(): only clustervars=NULL (clustering by unit) is mirrored")
    xformla = args.get("xformla", "NULL")
    covariates = () if xformla == "NULL" else _plain_formula_names(xformla, "att_gt(xformla)")
    spec = DidSpec(
        outcome=_quoted(args, "yname", "att_gt"),
        time=_quoted(args, "tname", "att_gt"),
        unit=_quoted(args, "idname", "att_gt"),
        cohort=_quoted(args, "gname", "att_gt"),
        control_group=_choice(args, "control_group", "att_gt", CONTROL_GROUPS),
        base_period=_choice(args, "base_period", "att_gt", BASE_PERIODS),
        est_method=_choice(args, "est_method", "att_gt", EST_METHODS),
        covariates=covariates,
    )
    return DidRows(spec, agg, _flag(args, "bstrap", "att_gt", default=False))


@dataclass(frozen=True)
class Did2sSpec:
    """Gardner's two-stage DID as R's did2s runs it: first stage the fixed effects on the
    untreated observations; second stage `i(event_var, ref = c(ref..., Inf))` with the event
    variable set to Inf where cohort == never (the never treated kept as controls); the ATT
    from a second stage on the treatment dummy."""

    outcome: str
    fixef: tuple[str, ...]
    event_var: str
    ref: tuple[int, ...]
    cohort: str
    never: int
    treatment: str
    cluster: str

    def columns(self) -> list[str]:
        parts = [n for f in self.fixef for n in f.split("^")]
        return [self.outcome, *parts, self.event_var, self.cohort, self.treatment, self.cluster]


def parse_did2s(formula: str) -> Did2sSpec:
    parts = _split_top(formula, ";")
    if len(parts) != 3:
        raise Unsupported(
            f"'{formula}' is not 'did2s(...); <var> = Inf where <cohort> == <never>; ATT: "
            "second_stage=~<treatment>'"
        )
    args = parse_call(parts[0], "did2s")
    first = args.get("first_stage", "")
    m = re.fullmatch(r"~\s*0\s*\|(.*)", first)
    if m is None:
        raise Unsupported(f"did2s(): first_stage {first} is not '~0 | fixed effects'")
    fixef = tuple(_name(f, "did2s(first_stage)") for f in m.group(1).split("+"))
    second = args.get("second_stage", "")
    m = re.fullmatch(r"~\s*i\((.*)\)", second)
    if m is None:
        raise Unsupported(f"did2s(): second_stage {second} is not '~i(var, ref = c(..., Inf))'")
    inner = _split_top(m.group(1), ",")
    key, _, refs = inner[1].partition("=") if len(inner) == 2 else ("", "", "")
    refs = refs.strip()
    if key.strip() != "ref" or not (refs.startswith("c(") and refs.endswith(", Inf)")):
        raise Unsupported(f"did2s(): {second} does not keep the never treated (ref = c(..., Inf))")
    event_var = _name(inner[0], "did2s(second_stage)")
    ref = _ints(refs[2:-6], "did2s(second_stage)")
    m = re.fullmatch(
        rf"\s*{event_var}\s*=\s*Inf\s+where\s+({NAME.pattern})\s*==\s*({INT.pattern})\s*", parts[1]
    )
    if m is None:
        raise Unsupported(f"'{parts[1]}' is not '{event_var} = Inf where <cohort> == <never>'")
    treatment = _quoted(args, "treatment", "did2s")
    if parts[2].replace(" ", "") != f"ATT:second_stage=~{treatment}":
        raise Unsupported(f"'{parts[2]}' is not 'ATT: second_stage=~{treatment}'")
    return Did2sSpec(
        outcome=_quoted(args, "yname", "did2s"),
        fixef=fixef,
        event_var=event_var,
        ref=ref,
        cohort=m.group(1),
        never=int(m.group(2)),
        treatment=treatment,
        cluster=_quoted(args, "cluster_var", "did2s"),
    )


@dataclass(frozen=True)
class ImputationSpec:
    """Borusyak, Jaravel and Spiess as R's didimputation runs it: every horizon and every
    pre-trend coefficient, the static ATT, the first stage unit and time fixed effects,
    clustered by unit."""

    outcome: str
    cohort: str
    time: str
    unit: str

    def columns(self) -> list[str]:
        return [self.outcome, self.cohort, self.time, self.unit]


def parse_imputation(formula: str) -> ImputationSpec:
    args = parse_call(formula, "did_imputation")
    extra = set(args) - {"yname", "gname", "tname", "idname", "horizon", "pretrends"}
    if extra:
        raise Unsupported(f"did_imputation(): {', '.join(sorted(extra))} not mirrored")
    if not _flag(args, "pretrends", "did_imputation") or not _flag(
        args, "horizon", "did_imputation", default=True
    ):
        raise Unsupported("did_imputation(): only horizon=TRUE, pretrends=TRUE is mirrored")
    return ImputationSpec(
        outcome=_quoted(args, "yname", "did_imputation"),
        cohort=_quoted(args, "gname", "did_imputation"),
        time=_quoted(args, "tname", "did_imputation"),
        unit=_quoted(args, "idname", "did_imputation"),
    )


@dataclass(frozen=True)
class BaconSpec:
    """The Goodman-Bacon decomposition of `outcome ~ treatment | unit + time`."""

    outcome: str
    treatment: str
    unit: str
    time: str

    def columns(self) -> list[str]:
        return [self.outcome, self.treatment, self.unit, self.time]


def bacon_spec(formula: Formula) -> BaconSpec:
    if (
        len(formula.regressors) != 1
        or formula.interactions
        or formula.event
        or formula.sunab
        or len(formula.fixef) != 2
        or any("^" in f for f in formula.fixef)
    ):
        raise Unsupported("the decomposition is of 'y ~ d | unit + time' only")
    return BaconSpec(formula.outcome, formula.regressors[0], *formula.fixef)
