"""Randomization inference at the level at which treatment was assigned: the assignment
groups' cohorts (whole pilot zones with their cohort years, or single units) are permuted,
and the Callaway-Sant'Anna cells ATT(g, t), simple and dynamic aggregations and the TWFE
event-study coefficients are recomputed for every permutation.

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
    """Statistics of each assignment (rows), keyed (family, term) as in estimates.csv: the
    estimate and its standard error (unscaled: without the small-sample factor, which is
    the same for every assignment and cancels from a studentized test)."""

    estimate: dict[tuple[str, str], np.ndarray]
    se: dict[tuple[str, str], np.ndarray]

    def t(self, key: tuple[str, str]) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.estimate[key] / self.se[key]


@dataclass(frozen=True)
class _Moments:
    """Per assignment and cohort value c (P x C ...): sizes n_c, sums and scatter matrices
    of the outcome paths (raw: sums, scatter; two-way demeaned: dsums, dscatter)."""

    sizes: np.ndarray  # P x C
    sums: np.ndarray  # P x C x T
    scatter: np.ndarray  # P x C x T x T, sum_i y_i y_i'
    dsums: np.ndarray
    dscatter: np.ndarray


def per_unit_moments(grid: Grid) -> np.ndarray:
    """Each unit's [1, y, y y', y~, y~ y~'] (units x (1 + 2T + 2T^2); y~ two-way demeaned):
    the same for every assignment, so made once per set of assignments."""
    y = grid.y
    n_units = y.shape[0]
    demeaned = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    return np.hstack(
        [
            np.ones((n_units, 1)),
            y,
            np.einsum("it,is->its", y, y).reshape(n_units, -1),
            demeaned,
            np.einsum("it,is->its", demeaned, demeaned).reshape(n_units, -1),
        ]
    )


def _moments(
    per_unit: np.ndarray, totals: np.ndarray, n_t: int, assign: np.ndarray, values: np.ndarray
) -> _Moments:
    """One matrix product for all treated cohort values (memberships x units times units x
    [y, y y', y~, y~ y~']: `per_unit_moments`); the never-treated cohort's moments are the
    totals' remainder."""
    treated = [c for c, g in enumerate(values) if g != 0]
    n_p = len(assign)
    member = np.concatenate([(assign == values[c]).astype(float) for c in treated])
    cols = np.empty((n_p, len(values), per_unit.shape[1]))
    cols[:, treated] = (member @ per_unit).reshape(len(treated), n_p, -1).transpose(1, 0, 2)
    never = [c for c, g in enumerate(values) if g == 0]
    cols[:, never] = totals - cols[:, treated].sum(axis=1, keepdims=True)
    cuts = np.cumsum([1, n_t, n_t * n_t, n_t])
    parts = np.split(cols, cuts, axis=2)
    return _Moments(
        sizes=parts[0][:, :, 0],
        sums=parts[1],
        scatter=parts[2].reshape(n_p, len(values), n_t, n_t),
        dsums=parts[3],
        dscatter=parts[4].reshape(n_p, len(values), n_t, n_t),
    )


def _cs(grid: Grid, mo: _Moments, values: np.ndarray) -> Statistics:
    """Callaway-Sant'Anna cells and their share-weighted aggregations, with the standard
    errors of R's did (influence functions with the estimation error of the cohort shares,
    cs_aggregate's formulas): for an aggregate sum_k w_k ATT_k over cells k (w_k = p_k / S),
    the influence function of unit i of cohort c is (y_i - ybar_c)'L_c / n_c (L_c = sum of
    w_k e_k over the cells of cohort c, e_k = +1 at t and -1 at the base year), of a
    never-treated unit -(y_i - ybar_0)'L_0 / n_0 (L_0 over all cells), plus the shares'
    term, constant within a cohort: omega_c = (A_c - m_c est) / (n S), A_c the sum of the
    cohort's cell effects and m_c its number of cells. So
    Var = sum_c L_c'W_c L_c / n_c^2 + L_0'W_0 L_0 / n_0^2 + sum_c n_c omega_c^2,
    W_c the cohort's scatter of outcome paths around their mean."""
    years = grid.years
    n_p, n_c = mo.sizes.shape
    n_t = len(years)
    never = int(np.flatnonzero(values == 0)[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        means = mo.sums / mo.sizes[:, :, None]
    within = mo.scatter - mo.sizes[:, :, None, None] * np.einsum("pct,pcs->pcts", means, means)
    cells = []  # (cohort value index, event time, contrast e_k over years)
    for c, g in enumerate(values):
        if g == 0:
            continue
        for ti in range(1, n_t):
            base = (int(np.searchsorted(years, g)) - 1) if years[ti] >= g else ti - 1
            if base < 0:
                continue
            contrast = np.zeros(n_t)
            contrast[ti], contrast[base] = 1.0, -1.0
            cells.append((c, int(years[ti] - g), contrast))
    att = np.column_stack([(means[:, c] - means[:, never]) @ e for c, _, e in cells])  # P x cells
    share = np.column_stack([mo.sizes[:, c] for c, _, _ in cells])  # P x cells (n_c; n cancels)
    n = mo.sizes.sum(axis=1)

    def aggregate(which: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Estimate (P), L (P x C x T; row `never` holds L_0) and omega (P x C)."""
        w = share[:, which] / share[:, which].sum(axis=1, keepdims=True)
        est = np.einsum("pk,pk->p", w, att[:, which])
        big_l = np.zeros((n_p, n_c, n_t))
        omega = np.zeros((n_p, n_c))
        s_share = share[:, which].sum(axis=1) / n
        for j, k in enumerate(which):
            c, _, e = cells[k]
            big_l[:, c] += w[:, j, None] * e
            big_l[:, never] += w[:, j, None] * e
            omega[:, c] += att[:, k] - est  # A_c - m_c est, one cell at a time
        return est, big_l, omega / (n * s_share)[:, None], s_share

    def variance(big_l: np.ndarray, omega: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            quad = np.einsum("pct,pcts,pcs->pc", big_l, within, big_l, optimize=True) / mo.sizes**2
        quad = np.where(mo.sizes > 0, quad, 0.0)
        return quad.sum(axis=1) + np.einsum("pc,pc->p", mo.sizes, omega**2)

    estimate: dict[tuple[str, str], np.ndarray] = {}
    se: dict[tuple[str, str], np.ndarray] = {}
    est, big_l, omega, _ = aggregate([k for k, (_, e, _) in enumerate(cells) if e >= 0])
    estimate[("cs_simple", "ATT")], se[("cs_simple", "ATT")] = est, np.sqrt(variance(big_l, omega))
    for k, (c, e, _) in enumerate(cells):  # each cell ATT(g, t) (its shares' term is zero)
        est, big_l, omega, _ = aggregate([k])
        key = ("cs_attgt", f"attgt::{int(values[c])}:{int(values[c]) + e}")
        estimate[key], se[key] = est, np.sqrt(variance(big_l, omega))
    post_l, post_omega, post_est = [], [], []
    for e in sorted({e for _, e, _ in cells}):
        est, big_l, omega, _ = aggregate([k for k, (_, ek, _) in enumerate(cells) if ek == e])
        key = ("cs_dynamic", f"event_time::{e}")
        estimate[key], se[key] = est, np.sqrt(variance(big_l, omega))
        if e >= 0:
            post_l.append(big_l)
            post_omega.append(omega)
            post_est.append(est)
    key = ("cs_dynamic", "overall")
    estimate[key] = np.mean(post_est, axis=0)
    se[key] = np.sqrt(variance(np.mean(post_l, axis=0), np.mean(post_omega, axis=0)))
    return Statistics(estimate, se)


def _event_study(
    grid: Grid, mo: _Moments, values: np.ndarray, window: tuple[int, int], ref: int
) -> Statistics:
    """TWFE event-study coefficients and their clustered (by unit) standard errors. The
    demeaned dummies of a unit of cohort c are D~_c = O_c - 1 r_c'/T - Z (O_c its dummies by
    year, r_c their counts, Z = S/n - 1 k'/(nT) from the year totals S and totals k); with
    y~ two-way demeaned, unit i's score is s_i = H_c'y~_i - q_c, H_c = O_c - Z,
    q_c = D~_c'D~_c b, so the meat sums H_c'Wy_c H_c - H_c'Sy_c q_c' - q_c Sy_c'H_c
    + n_c q_c q_c' over cohorts (Wy_c, Sy_c: scatter and sum of y~ over the cohort's units)."""
    lo, hi = window
    times = tuple(k for k in range(lo, hi + 1) if k != ref)
    pos = {k: i for i, k in enumerate(times)}
    n_years, n_units = len(grid.years), len(grid.units)
    which = np.full((len(values), n_years), -1)  # the dummy of cohort value c in year t
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
    sizes = mo.sizes
    r = onehot.sum(axis=1)  # C x K
    counts = sizes @ r  # P x K
    year_totals = np.einsum("pc,ctk->ptk", sizes, onehot)  # P x T x K
    dmd = (
        np.einsum("pk,kl->pkl", counts, np.eye(len(times)))
        - np.einsum("pc,ck,cl->pkl", sizes, r, r, optimize=True) / n_years
        - np.einsum("ptk,ptl->pkl", year_totals, year_totals) / n_units
        + np.einsum("pk,pl->pkl", counts, counts) / (n_units * n_years)
    )
    inv = np.linalg.inv(dmd)
    beta = np.einsum("pkl,pl->pk", inv, np.einsum("pct,ctk->pk", mo.dsums, onehot))
    z = year_totals / n_units - counts[:, None, :] / (n_units * n_years)  # P x T x K
    meat = np.zeros_like(dmd)
    for c in range(len(values)):
        h = onehot[c][None] - z  # P x T x K
        dt = h - r[c][None, None, :] / n_years
        q = np.einsum("ptk,ptl,pl->pk", dt, dt, beta, optimize=True)
        hs = np.einsum("ptk,pt->pk", h, mo.dsums[:, c])
        meat += (
            np.einsum("ptk,pts,psl->pkl", h, mo.dscatter[:, c], h, optimize=True)
            - np.einsum("pk,pl->pkl", hs, q)
            - np.einsum("pk,pl->pkl", q, hs)
            + sizes[:, c, None, None] * np.einsum("pk,pl->pkl", q, q)
        )
    var = np.einsum("pkl,plm,pmk->pk", inv, meat, inv, optimize=True)
    keys = [("event_study", f"event_time::{k}") for k in times]
    return Statistics(
        {key: beta[:, i] for i, key in enumerate(keys)},
        {key: np.sqrt(var[:, i]) for i, key in enumerate(keys)},
    )


def statistics(grid: Grid, assign: np.ndarray, window: tuple[int, int], ref: int) -> Statistics:
    """The statistics of each assignment (rows of `assign`: each unit's cohort), in blocks."""
    values = np.unique(grid.cohort)
    if values[0] != 0:
        raise ValueError("Callaway-Sant'Anna with never-treated controls needs never-treated units")
    parts: list[Statistics] = []
    step = max(1, BLOCK // max(len(grid.units) * len(grid.years), 1))
    per_unit = per_unit_moments(grid)
    totals = per_unit.sum(axis=0)
    for start in range(0, len(assign), step):
        mo = _moments(per_unit, totals, len(grid.years), assign[start : start + step], values)
        cs, es = _cs(grid, mo, values), _event_study(grid, mo, values, window, ref)
        parts.append(Statistics({**cs.estimate, **es.estimate}, {**cs.se, **es.se}))
    keys = list(parts[0].estimate)
    return Statistics(
        {k: np.concatenate([p.estimate[k] for p in parts]) for k in keys},
        {k: np.concatenate([p.se[k] for p in parts]) for k in keys},
    )


def p_value(actual: float, draws: np.ndarray) -> float:
    """Two-sided randomization p-value (1 + #{|draw| >= |actual|}) / (1 + P)."""
    hits = np.abs(draws) >= np.abs(actual) * (1 - TIE)
    return float((1 + int(hits.sum())) / (1 + len(draws)))


STATISTICS = ("t", "estimate")  # what is permuted: the studentized statistic or the estimate


@dataclass(frozen=True)
class RandomizationResult:
    """Keyed (family, term), family "cs_attgt", "cs_simple", "cs_dynamic" or "event_study": the actual
    estimates and t statistics, and the permutation draws of `statistic` ("t": estimate /
    SE; "estimate": the estimate itself)."""

    estimate: dict[tuple[str, str], float]
    t: dict[tuple[str, str], float]
    draws: dict[tuple[str, str], np.ndarray]
    statistic: str
    n_perm: int
    n_groups: int
    dropped_units: int

    @property
    def actual(self) -> dict[tuple[str, str], float]:
        """The actual value of the permuted statistic."""
        return self.t if self.statistic == "t" else self.estimate

    def p(self, key: tuple[str, str]) -> float:
        return p_value(self.actual[key], self.draws[key])


def randomization_inference(
    grid: Grid,
    n_perm: int,
    rng: np.random.Generator,
    window: tuple[int, int],
    ref: int,
    dropped_units: int = 0,
    statistic: str = "t",
) -> RandomizationResult:
    """Every statistic at the observed assignment and under n_perm permutations."""
    if statistic not in STATISTICS:
        raise ValueError(f"statistic {statistic!r}; allowed: {', '.join(STATISTICS)}")
    observed = statistics(grid, grid.cohort[None, :], window, ref)
    permuted = statistics(grid, permutations(grid, n_perm, rng), window, ref)
    keys = list(observed.estimate)
    draws = {k: permuted.t(k) if statistic == "t" else permuted.estimate[k] for k in keys}
    return RandomizationResult(
        estimate={k: float(observed.estimate[k][0]) for k in keys},
        t={k: float(observed.t(k)[0]) for k in keys},
        draws=draws,
        statistic=statistic,
        n_perm=n_perm,
        n_groups=grid.n_groups,
        dropped_units=dropped_units,
    )
