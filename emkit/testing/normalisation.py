"""Every component's density sums or integrates to 1:
[`check_normalisation`][emkit.testing.check_normalisation].

How ``Z = sum or integral of exp(log_prob)`` is found depends on the data: an exact sum over
the support of a discrete feature, ``scipy.integrate.quad`` for one continuous feature, a sum
over a grid or importance sampling for several. The family's own ``sample`` says where the mass
lies; ``validate_data`` says where the support ends. The helpers are private to this module.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import attrs
import numpy as np

from emkit._backend import Array, cholesky, gammaln, logsumexp
from emkit._validation import check_array
from emkit.mixture import FiniteMixture
from emkit.protocols import ExponentialFamily
from emkit.testing.reporting import call_plugin
from emkit.testing.tolerances import (
    DISCRETE_EDGE_PROB,
    DISCRETE_MARGIN,
    DISCRETE_MARGIN_FRACTION,
    DISCRETE_MAX_POINTS,
    NORMALISATION_ATOL,
    NORMALISATION_DRAWS,
    NORMALISATION_GRID_POINTS,
    NORMALISATION_MAX_FEATURES,
    NORMALISATION_MC_ATOL,
    NORMALISATION_MIN_ESS_FRACTION,
    NORMALISATION_RANGE_DRAWS,
    NORMALISATION_SIGMAS,
    PROPOSAL_DEFENSIVE_WEIGHT,
    PROPOSAL_DOF,
    PROPOSAL_RIDGE,
    PROPOSAL_VARIANCE_FACTOR,
    QUADRATURE_LIMIT,
    QUADRATURE_MIN_CENTRAL_MASS,
    QUADRATURE_RTOL,
    QUADRATURE_TAIL,
    SUPPORT_BISECTIONS,
    SUPPORT_PROBES,
)

__all__ = ["check_normalisation"]


@attrs.frozen
class _Normalisation:
    """``log Z`` of one component, the allowed ``|Z - 1|``, and how it was found."""

    log_z: float
    allowed: float
    method: str
    verb: str


def _support_mask(family: Any, rows: Array) -> Array:
    """Which rows ``validate_data`` accepts: each distinct row once, halving rejected blocks."""
    if rows.shape[0] == 0:
        return np.ones(0, dtype=bool)
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    mask = np.ones(distinct.shape[0], dtype=bool)
    pending = [(0, distinct.shape[0])]
    while pending:
        start, stop = pending.pop()
        try:
            family.validate_data(distinct[start:stop])
            continue
        except ValueError:
            pass
        if stop - start == 1:
            mask[start] = False
        else:
            middle = (start + stop) // 2
            pending.extend([(start, middle), (middle, stop)])
    return mask[inverse.reshape(-1)]


def _accepts(family: Any, base: Array, column: int, value: float) -> bool:
    row = base.copy()
    row[0, column] = value
    return bool(_support_mask(family, row)[0])


def _support_bounds(family: Any, base: Array, column: int, values: Array) -> tuple[float, float]:
    """The interval of feature ``column`` that ``validate_data`` accepts around ``values`` (the
    other features fixed at ``base``): ``-inf``/``inf`` when no boundary is found."""
    low, high = float(values.min()), float(values.max())
    spread = max(high - low, abs(low), abs(high), 1.0)
    bounds = []
    for start, sign in ((low, -1.0), (high, 1.0)):
        inside, outside = start, None
        for i in range(SUPPORT_PROBES):
            probe = start + sign * spread * 2.0**i
            if not _accepts(family, base, column, probe):
                outside = probe
                break
            inside = probe
        if outside is None:
            bounds.append(sign * math.inf)
            continue
        for _ in range(SUPPORT_BISECTIONS):
            middle = 0.5 * (inside + outside)
            if middle in (inside, outside):
                break
            if _accepts(family, base, column, middle):
                inside = middle
            else:
                outside = middle
        bounds.append(inside)
    return bounds[0], bounds[1]


def _log_prob_all(family: Any, points: Array, params: Any, name: str) -> Array:
    """``log p(x | theta_k)`` (n_points, n_components) of points in the support; NaN is a
    finding."""
    log_p = np.asarray(family.log_prob(points, params), dtype=np.float64)
    if np.isnan(log_p).any():
        row, k = (int(i) for i in np.argwhere(np.isnan(log_p))[0])
        raise AssertionError(
            f"{name}.log_prob of component {k} is NaN at x={points[row].tolist()}, in the support"
        )
    return log_p


def _log_prob_column(family: Any, points: Array, params: Any, k: int, name: str) -> Array:
    """``log p(x | theta_k)`` (n_points,) of points in the support."""
    return _log_prob_all(family, points, params, name)[:, k]


def _quadrature(family: Any, params: Any, k: int, draws: Array, name: str) -> _Normalisation:
    """1-D continuous: ``scipy.integrate.quad`` over the support, split at sample quantiles."""
    from scipy.integrate import IntegrationWarning, quad

    x = draws[:, 0]
    lower, upper = _support_bounds(family, draws[:1].copy(), 0, x)
    shift = float(np.max(_log_prob_column(family, draws, params, k, name)))
    if not math.isfinite(shift):
        return _Normalisation(shift, NORMALISATION_ATOL, "quadrature", "integrates")

    def density(value: float) -> float:
        point = np.array([[value]])
        if not _support_mask(family, point)[0]:
            return 0.0
        return math.exp(
            min(float(_log_prob_column(family, point, params, k, name)[0]) - shift, 700.0)
        )

    q_low, q_high = (
        min(max(q, lower), upper) for q in np.quantile(x, [QUADRATURE_TAIL, 1.0 - QUADRATURE_TAIL])
    )
    pieces, error = [], 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        for a, b in ((lower, q_low), (q_low, q_high), (q_high, upper)):
            value, err = (
                quad(density, a, b, epsabs=0.0, epsrel=QUADRATURE_RTOL, limit=QUADRATURE_LIMIT)
                if b > a
                else (0.0, 0.0)
            )
            pieces.append(float(value))
            error += float(err)
    total = sum(pieces)
    central = pieces[1] / total if total > 0 else math.nan
    if not central >= QUADRATURE_MIN_CENTRAL_MASS:
        raise AssertionError(
            f"{name}.sample() and log_prob of component {k} disagree: only {central:.3g} of the "
            f"density's mass lies between the {QUADRATURE_TAIL:g} and {1 - QUADRATURE_TAIL:g} "
            f"quantiles of sample()'s draws [{q_low:.6g}, {q_high:.6g}] (about "
            f"{1 - 2 * QUADRATURE_TAIL:g} if they drew from that density)"
        )
    log_z = shift + math.log(total)
    method = f"scipy.integrate.quad over [{lower:.6g}, {upper:.6g}]"
    return _Normalisation(
        log_z, NORMALISATION_ATOL + error * math.exp(min(shift, 700.0)), method, "integrates"
    )


def _integer_values(family: Any, base: Array, column: int, low: int, high: int) -> Array:
    """The integers in [low, high] that ``validate_data`` accepts in feature ``column``."""
    values = np.arange(low, high + 1, dtype=np.float64)
    rows = np.repeat(base, values.size, axis=0)
    rows[:, column] = values
    return values[_support_mask(family, rows)]


def _margin(low: float, high: float) -> int:
    return DISCRETE_MARGIN + math.ceil(DISCRETE_MARGIN_FRACTION * (high - low))


def _discrete_sum_1d(
    family: Any, params: Any, draws: list[Array], X: Array, name: str
) -> list[_Normalisation]:
    """1-D discrete: the sum over the support, widened while the edge terms still count."""
    pooled = np.concatenate([*draws, X])[:, 0]
    low, high = float(pooled.min()), float(pooled.max())
    margin = _margin(low, high)
    lo_edge, hi_edge = int(low) - margin, int(high) + margin
    base = draws[0][:1].copy()
    values = _integer_values(family, base, 0, lo_edge, hi_edge)
    n_components = len(draws)
    while True:
        log_p = (
            _log_prob_all(family, values[:, None], params, name)
            if values.size
            else np.full((0, n_components), -np.inf)
        )
        log_z = logsumexp(log_p, axis=0) if values.size else np.full(n_components, -np.inf)
        width = hi_edge - lo_edge + 1
        if values.size == 0 or width >= DISCRETE_MAX_POINTS:
            break
        grow_low = values[0] == lo_edge and np.any(log_p[0] - log_z > math.log(DISCRETE_EDGE_PROB))
        grow_high = values[-1] == hi_edge and np.any(
            log_p[-1] - log_z > math.log(DISCRETE_EDGE_PROB)
        )
        if not (grow_low or grow_high):
            break
        parts = [values]
        if grow_low:
            parts.insert(0, _integer_values(family, base, 0, lo_edge - width, lo_edge - 1))
            lo_edge -= width
        if grow_high:
            parts.append(_integer_values(family, base, 0, hi_edge + 1, hi_edge + width))
            hi_edge += width
        values = np.concatenate(parts)
    method = f"sum over the {values.size} integers of the support in [{lo_edge}, {hi_edge}]"
    return [_Normalisation(float(z), NORMALISATION_ATOL, method, "sums") for z in log_z]


def _importance(
    family: Any,
    params: Any,
    k: int,
    points: Array,
    log_q: Array,
    name: str,
    what: str,
    candidates: Array | None = None,
) -> _Normalisation:
    """``Z = E_q[p / q]`` from draws of a proposal ``q``; rows outside the support give 0.

    ``candidates`` (n,) marks the rows that may lie in the support (others are known not to).
    """
    inside = np.ones(points.shape[0], dtype=bool) if candidates is None else candidates.copy()
    inside[inside] = _support_mask(family, points[inside])
    log_w = np.full(points.shape[0], -np.inf)
    if inside.any():
        log_w[inside] = _log_prob_column(family, points[inside], params, k, name) - log_q[inside]
    shift = float(np.max(log_w))
    if not math.isfinite(shift):
        return _Normalisation(shift, NORMALISATION_MC_ATOL, what, "integrates")
    w = np.exp(log_w - shift)
    n = w.size
    mean, sd = float(w.mean()), float(w.std(ddof=1))
    ess = float(w.sum() ** 2 / np.sum(w * w))
    if ess < NORMALISATION_MIN_ESS_FRACTION * n:
        raise AssertionError(
            f"{name}.sample() and log_prob of component {k} disagree: importance weights "
            f"p / q, with q fitted to sample()'s draws, have an effective sample size of "
            f"{ess:.3g} of {n} draws (at least {NORMALISATION_MIN_ESS_FRACTION:g} x {n} when "
            "sample() draws from the density of log_prob): log_prob puts its mass where sample() "
            "rarely draws. Likely causes: a wrong eta(mean) or A(eta), so that log_prob describes "
            "another distribution than the one sample() draws from, or a mistake in sample()"
        )
    scale_z = math.exp(min(shift, 700.0))
    error = scale_z * sd / math.sqrt(n)
    method = f"{what}, {n} draws, standard error {error:.2g}"
    return _Normalisation(
        shift + math.log(mean),
        NORMALISATION_SIGMAS * error + NORMALISATION_MC_ATOL,
        method,
        "integrates",
    )


def _continuous_proposal(draws: Array, n: int, rng: np.random.Generator) -> tuple[Array, Array]:
    """Points and log-densities from a broad Gaussian/Student-t mixture fitted to ``draws``."""
    d = draws.shape[1]
    center = draws.mean(axis=0)
    cov = np.atleast_2d(np.cov(draws, rowvar=False))
    ridge = PROPOSAL_RIDGE * max(float(np.trace(cov)) / d, 1.0)
    cov = PROPOSAL_VARIANCE_FACTOR * (cov + ridge * np.eye(d))
    lower = cholesky(cov)
    n_t = int(rng.binomial(n, PROPOSAL_DEFENSIVE_WEIGHT))
    y = rng.standard_normal((n, d))
    y[:n_t] *= np.sqrt(PROPOSAL_DOF / rng.chisquare(PROPOSAL_DOF, size=n_t))[:, None]
    points = center + y @ lower.T
    maha = np.einsum("nd,nd->n", y, y)
    log_det = 2.0 * float(np.sum(np.log(np.diag(lower))))
    log_gauss = -0.5 * (maha + log_det + d * math.log(2.0 * math.pi))
    v = PROPOSAL_DOF
    log_t = (
        float(gammaln(np.array((v + d) / 2.0)) - gammaln(np.array(v / 2.0)))
        - 0.5 * (d * math.log(v * math.pi) + log_det)
        - 0.5 * (v + d) * np.log1p(maha / v)
    )
    log_q = np.logaddexp(
        math.log1p(-PROPOSAL_DEFENSIVE_WEIGHT) + log_gauss,
        math.log(PROPOSAL_DEFENSIVE_WEIGHT) + log_t,
    )
    return points, log_q


def _continuous_monte_carlo(
    family: Any, params: Any, k: int, draws: Array, rng: np.random.Generator, n: int, name: str
) -> _Normalisation:
    points, log_q = _continuous_proposal(draws, n, rng)
    # Rows outside a feature's support interval are set aside in one vectorised pass before the
    # row-wise support test (cheap for half-bounded supports such as x >= 0).
    candidates = np.ones(points.shape[0], dtype=bool)
    for column in range(points.shape[1]):
        lower, upper = _support_bounds(family, draws[:1].copy(), column, draws[:, column])
        candidates &= (points[:, column] >= lower) & (points[:, column] <= upper)
    what = f"importance sampling over {points.shape[1]} features"
    return _importance(family, params, k, points, log_q, name, what, candidates)


def _discrete_multi(
    family: Any,
    params: Any,
    draws: list[Array],
    X: Array,
    rng: np.random.Generator,
    n: int,
    max_grid_points: int,
    name: str,
) -> list[_Normalisation]:
    """Several discrete features: the sum over a grid when small, else importance sampling
    from a product of smoothed per-feature frequencies."""
    pooled = np.concatenate([*draws, X])
    base = draws[0][:1].copy()
    ranges = []
    for column in range(pooled.shape[1]):
        low, high = float(pooled[:, column].min()), float(pooled[:, column].max())
        margin = _margin(low, high)
        ranges.append((int(low) - margin, int(high) + margin))
    # Per-feature supports (each feature varied with the others held at one sample) are exact
    # when the support is a product of per-feature sets. When it is not (counts with a fixed
    # total), they miss values the samples take: use whole ranges, and test rows jointly,
    # which costs one validate_data call per rejected row, so only on small grids.
    values = [_integer_values(family, base, c, *bounds) for c, bounds in enumerate(ranges)]
    product = all(np.isin(pooled[:, c], v).all() for c, v in enumerate(values))
    if not product:
        values = [np.arange(lo, hi + 1, dtype=np.float64) for lo, hi in ranges]
    size = math.prod(v.size for v in values)
    n_components = len(draws)
    if size <= (max_grid_points if product else min(max_grid_points, n)):
        grid = np.stack([g.ravel() for g in np.meshgrid(*values, indexing="ij")], axis=1)
        grid = grid[_support_mask(family, grid)]
        method = f"sum over a grid of {grid.shape[0]} points of the support"
        log_p = (
            _log_prob_all(family, grid, params, name)
            if grid.size
            else np.full((1, n_components), -np.inf)
        )
        log_z = logsumexp(log_p, axis=0)
        return [_Normalisation(float(z), NORMALISATION_ATOL, method, "sums") for z in log_z]
    out = []
    for k in range(n_components):
        points = np.empty((n, len(values)))
        log_q = np.zeros(n)
        for column, support in enumerate(values):
            frequency = (
                np.bincount(
                    np.searchsorted(support, draws[k][:, column]).clip(0, support.size - 1),
                    minlength=support.size,
                )
                / draws[k].shape[0]
            )
            uniform = PROPOSAL_DEFENSIVE_WEIGHT / support.size
            q = (1.0 - PROPOSAL_DEFENSIVE_WEIGHT) * frequency + uniform
            index = rng.choice(support.size, size=n, p=q / q.sum())
            points[:, column] = support[index]
            log_q += np.log(q[index] / q.sum())
        what = f"importance sampling over {len(values)} discrete features"
        result = _importance(family, params, k, points, log_q, name, what)
        out.append(attrs.evolve(result, verb="sums"))
    return out


def _integer_valued(a: Array) -> bool:
    return bool(np.all(np.isfinite(a)) and np.all(a == np.round(a)))


def _params_on_columns(
    family: Any, X: Array, n_components: int, rng: np.random.Generator
) -> Any | None:
    """Component parameters fitted to these columns, or None if the family refuses them."""
    try:
        family.validate_data(X)
        params = FiniteMixture(family, n_components).init_params(X, rng, "random").components
        family.log_prob(X[:2], params)
    except (ValueError, TypeError, IndexError):
        return None
    return params


def _format_z(log_z: float) -> str:
    if math.isnan(log_z):
        return "nan"
    if log_z > 700.0:
        return f"exp({log_z:.6g})"
    return f"{math.exp(log_z):.5g}"


def check_normalisation(
    family: ExponentialFamily[Any, Any],
    X: Any,
    n_components: int = 2,
    random_state: int = 0,
    *,
    n_draws: int = NORMALISATION_DRAWS,
    max_grid_points: int = NORMALISATION_GRID_POINTS,
) -> None:
    """The density of every component sums or integrates to 1.

    Parameters are fitted to one column of ``X`` (``FiniteMixture(family,
    n_components).init_params(X[:, :1], rng, "random")``) and, when ``X`` has several columns,
    to its first ``NORMALISATION_MAX_FEATURES``; a family that refuses fewer columns is checked
    on all of ``X``. A feature is discrete when the data and the family's own samples are all
    integers. Then:

    * one discrete feature: the sum of ``exp(log_prob)`` over the integers of the support (those
      ``validate_data`` accepts) around the family's samples, widened until the edge terms are
      negligible;
    * one continuous feature: ``scipy.integrate.quad`` over two tails and a middle interval cut
      at sample quantiles, within the support's bounds (found by probing ``validate_data``);
    * several discrete features: the sum over the grid of per-feature supports when it has at
      most ``max_grid_points`` points, else importance sampling from smoothed per-feature
      frequencies of the samples (a support that is not a product of per-feature sets, such
      as counts with a fixed total, is tested row by row: on grids of at most ``n_draws``
      points);
    * several continuous features: importance sampling, ``Z = E_q[p / q]``, with a broad
      proposal ``q`` (Gaussian plus heavy-tailed Student-t) fitted to the family's samples;
      points outside the support count 0. ``Z`` must be 1 within ``NORMALISATION_SIGMAS``
      standard errors plus ``NORMALISATION_MC_ATOL``.

    Parameters
    ----------
    family : ExponentialFamily
    X : array-like of shape (n_samples, n_features), in the family's support
    n_components : int, default 2
    random_state : int, default 0
    n_draws : int, default NORMALISATION_DRAWS
        Importance-sampling draws per component.
    max_grid_points : int, default NORMALISATION_GRID_POINTS

    Raises
    ------
    AssertionError
        A component's density does not sum or integrate to 1; the message gives the value, its
        logarithm (the constant ``log_prob`` is off by) and the likely causes.
    """
    X = family.validate_data(check_array(X))
    name = type(family).__name__
    rng = np.random.default_rng(random_state)
    widths = sorted({1, min(X.shape[1], NORMALISATION_MAX_FEATURES)})
    fitted = [
        (X[:, :w], p)
        for w in widths
        if (p := _params_on_columns(family, X[:, :w], n_components, rng)) is not None
    ]
    if not fitted:
        mixture = FiniteMixture(family, n_components)
        params = call_plugin(
            f"FiniteMixture({name}).init_params", mixture.init_params, X, rng, "random"
        )
        fitted = [(X, params.components)]
    for columns, params in fitted:
        n_features = columns.shape[1]
        k_total = np.asarray(family.mean(params)).shape[0]
        draws = [
            np.asarray(
                call_plugin(
                    f"{name}.sample", family.sample, params, k, NORMALISATION_RANGE_DRAWS, rng
                ),
                dtype=np.float64,
            )
            for k in range(k_total)
        ]
        discrete = _integer_valued(columns) and all(_integer_valued(d) for d in draws)
        if discrete and n_features == 1:
            results = _discrete_sum_1d(family, params, draws, columns, name)
        elif discrete:
            results = _discrete_multi(
                family, params, draws, columns, rng, n_draws, max_grid_points, name
            )
        elif n_features == 1:
            results = [_quadrature(family, params, k, draws[k], name) for k in range(k_total)]
        else:
            results = [
                _continuous_monte_carlo(family, params, k, draws[k], rng, n_draws, name)
                for k in range(k_total)
            ]
        for k, result in enumerate(results):
            z = math.exp(min(result.log_z, 700.0))
            if not abs(z - 1.0) <= result.allowed:
                raise AssertionError(
                    f"component {k} of {name} {result.verb} to {_format_z(result.log_z)} instead "
                    f"of 1 on {n_features} feature(s) ({result.method}; allowed deviation "
                    f"{result.allowed:.2g}): log_prob is off by log Z = {result.log_z:.6g}. "
                    "Likely causes: the log-partition A(eta) is off by a constant, log h(x) is "
                    "missing (log_base_measure, or zero_base_measure = True when h(x) != 1), or "
                    "a normalising constant in log_prob is wrong (e.g. -0.5 log(2 pi) counted "
                    "once instead of once per feature)"
                )
