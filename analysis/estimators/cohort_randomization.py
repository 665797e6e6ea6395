"""Randomization inference at the level at which treatment was assigned: the assignment
groups' cohorts (whole pilot zones with their cohort years, or single units) are permuted,
and the Callaway-Sant'Anna simple and dynamic aggregations and the TWFE event-study
coefficients are recomputed for every permutation.

Exchangeability (the sharp null of no effect for any unit in any year): the groups are the
units of assignment, and any permutation of the groups' cohort years was as likely as the
one observed. The number of groups in each cohort and the cohort years are kept; the number
of treated units varies with the sizes of the groups drawn (a zone of nine cities may take
the place of a zone of one).

No regression is refitted. On a balanced panel (n units, T years, outcome grid Y):

- Callaway-Sant'Anna without covariates, never-treated controls, varying base period (R
  did's `att_gt` defaults, `est_method = "dr"`, which is then the 2x2 difference of mean
  changes): ATT(g, t) = [m_g(t) - m_g(b)] - [m_0(t) - m_0(b)], b = g - 1 for t >= g and
  t - 1 before, m_g the mean path of cohort g. A permutation needs the cohort means, one
  (permutations x units) @ (units x T) product per cohort. The aggregations are R aggte's:
  simple = share-weighted mean of the post cells; dynamic: for each e, the share-weighted
  mean of the cells with t - g = e; `overall` = the mean over e >= 0.
- TWFE event study (`y ~ event-time dummies | unit + year`, end points binned, reference
  period omitted, never-treated units without dummies): b = (D'MD)^-1 D'My with M the
  two-way within transformation. D'My sums the demeaned outcome over the cells of each
  event time: cohort sums per year, as above. D'MD depends only on the cohort sizes n_g:
  with r_g the event-time counts of a unit of cohort g and s_t the event-time counts of
  year t, D'MD = diag(sum_g n_g r_g) - sum_g n_g r_g r_g' / T - sum_t s_t s_t' / n + c c' / nT,
  c = sum_g n_g r_g.

p-values are two-sided, (1 + #{|stat_perm| >= |stat|}) / (1 + P), exact under the sharp null.
The brute-force reference in the tests refits both estimators on each permuted panel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TIE = 1e-12  # |stat_perm| >= |stat| up to rounding (relative)
BLOCK = 2**20  # permutations x units held at once


@dataclass(frozen=True)
class Grid:
    """A balanced panel as arrays: units (sorted), years (sorted), outcome (units x years),
    each unit's cohort (0 = never) and assignment group (codes 0..groups-1)."""

    units: np.ndarray
    years: np.ndarray
    y: np.ndarray
    cohort: np.ndarray
    group: np.ndarray

    @property
    def n_groups(self) -> int:
        return int(self.group.max()) + 1

    def group_cohorts(self) -> np.ndarray:
        """The cohort of each group (constant within groups: checked)."""
        out = np.zeros(self.n_groups, dtype=self.cohort.dtype)
        out[self.group] = self.cohort
        if not (out[self.group] == self.cohort).all():
            raise ValueError("units of one assignment group have different cohorts")
        return out


def balanced_grid(panel: pd.DataFrame, outcome: str, groups: pd.Series) -> tuple[Grid, int]:
    """The grid of the units observed (with the outcome) in every year of the panel, and the
    number of units left out (also those treated from the first year, which R's did leaves
    out: they have no untreated year). `groups`: the assignment group of each unit (index:
    unit)."""
    data = panel[["city_code", "year", "first_treat", outcome]].dropna()
    years = np.sort(data["year"].unique())
    counts = data.groupby("city_code")["year"].nunique()
    first = data.groupby("city_code")["first_treat"].first()
    usable = (first == 0) | (first > years[0])
    complete = counts.index[(counts == len(years)) & usable.reindex(counts.index).to_numpy()]
    dropped = int(panel["city_code"].nunique() - len(complete))
    data = data[data["city_code"].isin(complete)]
    wide = data.pivot(index="city_code", columns="year", values=outcome).sort_index()
    cohort = data.groupby("city_code")["first_treat"].first().reindex(wide.index)
    group_codes, _ = pd.factorize(groups.reindex(wide.index), sort=True)
    return (
        Grid(
            units=wide.index.to_numpy(),
            years=wide.columns.to_numpy(dtype=int),
            y=wide.to_numpy(dtype=float),
            cohort=cohort.to_numpy(dtype=int),
            group=group_codes.astype(np.intp),
        ),
        dropped,
    )


def permutations(grid: Grid, n_perm: int, rng: np.random.Generator) -> np.ndarray:
    """n_perm random permutations of the groups' cohorts, as each unit's cohort
    (n_perm x units); row by row, one `rng.permutation` each."""
    by_group = grid.group_cohorts()
    out = np.empty((n_perm, len(by_group)), dtype=by_group.dtype)
    for b in range(n_perm):
        out[b] = rng.permutation(by_group)
    return out[:, grid.group]


@dataclass(frozen=True)
class Statistics:
    """Statistics of each assignment (rows): the CS simple ATT, the CS dynamic effect of each
    event time and its `overall`, and the TWFE event-study coefficients."""

    cs_simple: np.ndarray  # P
    cs_event_times: tuple[int, ...]
    cs_dynamic: np.ndarray  # P x len(cs_event_times)
    cs_overall: np.ndarray  # P
    es_event_times: tuple[int, ...]
    es_coef: np.ndarray  # P x len(es_event_times)


def _cohort_means(grid: Grid, assign: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per assignment: mean path of each cohort value (P x C x T), its size (P x C), and the
    sums of the two-way demeaned outcome (P x C x T)."""
    y = grid.y
    demeaned = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    sizes = np.stack([(assign == c).sum(axis=1) for c in values], axis=1).astype(float)
    sums = np.stack([(assign == c).astype(float) @ y for c in values], axis=1)
    dsums = np.stack([(assign == c).astype(float) @ demeaned for c in values], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / sizes[:, :, None]
    return means, sizes, dsums


def _cs(
    grid: Grid, means: np.ndarray, sizes: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, tuple[int, ...], np.ndarray, np.ndarray]:
    years = grid.years
    never = int(np.flatnonzero(values == 0)[0])
    cells: list[tuple[int, int, np.ndarray, np.ndarray]] = []  # (g, e, att, weight)
    for c, g in enumerate(values):
        if g == 0:
            continue
        for ti in range(1, len(years)):
            t = years[ti]
            base = (int(np.searchsorted(years, g)) - 1) if t >= g else ti - 1
            if base < 0:
                continue
            att = (means[:, c, ti] - means[:, c, base]) - (
                means[:, never, ti] - means[:, never, base]
            )
            cells.append((int(g), int(t - g), att, sizes[:, c]))
    post = [(att, w) for g, e, att, w in cells if e >= 0]
    simple = sum(w * a for a, w in post) / sum(w for _, w in post)
    times = tuple(sorted({e for _, e, _, _ in cells}))
    dynamic = np.column_stack(
        [
            sum(w * a for _, k, a, w in cells if k == e) / sum(w for _, k, _, w in cells if k == e)
            for e in times
        ]
    )
    overall = dynamic[:, [i for i, e in enumerate(times) if e >= 0]].mean(axis=1)
    return simple, times, dynamic, overall


def _event_study(
    grid: Grid,
    dsums: np.ndarray,
    sizes: np.ndarray,
    values: np.ndarray,
    window: tuple[int, int],
    ref: int,
) -> tuple[tuple[int, ...], np.ndarray]:
    lo, hi = window
    times = tuple(k for k in range(lo, hi + 1) if k != ref)
    pos = {k: i for i, k in enumerate(times)}
    n_years, n_units = len(grid.years), len(grid.units)
    # which dummy a unit of cohort value c has in year t (-1: none), C x T
    which = np.full((len(values), n_years), -1)
    for c, g in enumerate(values):
        if g == 0:
            continue
        for ti, t in enumerate(grid.years):
            k = int(np.clip(t - g, lo, hi))
            if k != ref:
                which[c, ti] = pos[k]
    onehot = np.zeros((len(values), n_years, len(times)))
    cc, tt = np.nonzero(which >= 0)
    onehot[cc, tt, which[cc, tt]] = 1.0
    r = onehot.sum(axis=1)  # C x K: dummy counts of one unit of each cohort value
    dty = np.einsum("pct,ctk->pk", dsums, onehot)
    counts = sizes @ r  # P x K
    s = np.einsum("pc,ctk->ptk", sizes, onehot)  # P x T x K
    dmd = (
        np.einsum("pk,kl->pkl", counts, np.eye(len(times)))
        - np.einsum("pc,ck,cl->pkl", sizes, r, r) / n_years
        - np.einsum("ptk,ptl->pkl", s, s) / n_units
        + np.einsum("pk,pl->pkl", counts, counts) / (n_units * n_years)
    )
    return times, np.linalg.solve(dmd, dty[:, :, None])[:, :, 0]


def statistics(grid: Grid, assign: np.ndarray, window: tuple[int, int], ref: int) -> Statistics:
    """The statistics of each assignment (rows of `assign`: each unit's cohort)."""
    values = np.unique(grid.cohort)
    if values[0] != 0:
        raise ValueError("Callaway-Sant'Anna with never-treated controls needs never-treated units")
    parts = []
    step = max(1, BLOCK // max(len(grid.units), 1))
    for start in range(0, len(assign), step):
        block = assign[start : start + step]
        means, sizes, dsums = _cohort_means(grid, block, values)
        simple, cs_times, dynamic, overall = _cs(grid, means, sizes, values)
        es_times, coef = _event_study(grid, dsums, sizes, values, window, ref)
        parts.append((simple, dynamic, overall, coef))
    simple, dynamic, overall, coef = (np.concatenate(p) for p in zip(*parts, strict=True))
    return Statistics(simple, cs_times, dynamic, overall, es_times, coef)


def p_value(actual: float, draws: np.ndarray) -> float:
    """Two-sided randomization p-value (1 + #{|draw| >= |actual|}) / (1 + P)."""
    hits = np.abs(draws) >= np.abs(actual) * (1 - TIE)
    return float((1 + int(hits.sum())) / (1 + len(draws)))


@dataclass(frozen=True)
class RandomizationResult:
    """Actual statistics, their permutation draws and p-values, keyed (family, term):
    family "cs_simple", "cs_dynamic" or "event_study"."""

    actual: dict[tuple[str, str], float]
    draws: dict[tuple[str, str], np.ndarray]
    n_perm: int
    n_groups: int
    dropped_units: int

    def p(self, key: tuple[str, str]) -> float:
        return p_value(self.actual[key], self.draws[key])


def _keyed(st: Statistics) -> dict[tuple[str, str], np.ndarray]:
    out: dict[tuple[str, str], np.ndarray] = {("cs_simple", "ATT"): st.cs_simple}
    for i, e in enumerate(st.cs_event_times):
        out[("cs_dynamic", f"event_time::{e}")] = st.cs_dynamic[:, i]
    out[("cs_dynamic", "overall")] = st.cs_overall
    for i, k in enumerate(st.es_event_times):
        out[("event_study", f"event_time::{k}")] = st.es_coef[:, i]
    return out


def randomization_inference(
    grid: Grid,
    n_perm: int,
    rng: np.random.Generator,
    window: tuple[int, int],
    ref: int,
    dropped_units: int = 0,
) -> RandomizationResult:
    """Every statistic at the observed assignment and under n_perm permutations."""
    observed = _keyed(statistics(grid, grid.cohort[None, :], window, ref))
    permuted = _keyed(statistics(grid, permutations(grid, n_perm, rng), window, ref))
    return RandomizationResult(
        actual={k: float(v[0]) for k, v in observed.items()},
        draws=permuted,
        n_perm=n_perm,
        n_groups=grid.n_groups,
        dropped_units=dropped_units,
    )
