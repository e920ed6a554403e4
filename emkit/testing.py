"""Public contract checks for plugin authors: run them on a new family or model with pytest.

>>> import numpy as np, emkit
>>> from emkit.testing import check_family
>>> X = np.random.default_rng(0).poisson(3.0, size=(200, 2)).astype(float)
>>> check_family(emkit.Poisson(), X, n_components=2)

Each check raises ``AssertionError`` with a message that names the method at fault, the law it
breaks, by how much, and the usual causes. :func:`check_family` runs, in this order:

* ingredients (a :class:`~emkit.CanonicalFamily` only): ``sufficient_statistics``,
  ``natural_parameters``, ``log_partition`` and ``log_base_measure`` return arrays of the
  documented shapes (checked first, so a shape slip never surfaces as a numpy broadcasting
  error);
* prior (a :class:`~emkit.CanonicalFamily` only): ``prior() = (tau, m0)`` has ``tau >= 0`` and,
  when ``tau > 0``, ``m0`` in the mean space;
* statistics type: ``expected_stats`` and ``e_step`` return attrs classes of arrays;
* parameters: ``init_params`` and ``m_step`` give finite parameters that ``validate_params``
  accepts (so a NaN M-step is reported as such, not as a failure of a later law);
* shapes: ``log_prob`` is (n_samples, n_components), finite on data in the support; ``mean`` is
  (n_components, n_features); ``sample`` draws rows that pass ``validate_data``;
* normalisation: every component's density sums or integrates to 1;
* additivity: the statistics of a three-way row split add up to the statistics of all rows;
* sample weights: integer row weights equal repeated rows;
* recentering (statistics that are :class:`~emkit.protocols.Recenterable`): moving the
  reference point changes nothing the M-step sees;
* relabelling: permuting the components permutes ``log_prob``'s columns and nothing else;
* M-step optimality: on hard labels, ``maximize`` beats any other parameters on the
  complete-data objective ``sum_n log p(x_n | theta_{z_n}) + log p(theta)``;
* monotone EM: EM from a random start never decreases the objective.

:func:`check_model` runs the checks that apply to any latent-variable model: parameters,
statistics type, additivity, sample weights, recentering and monotone EM.

Every tolerance is a named module constant below.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import numpy as np

from emkit._backend import Array, cholesky, gammaln, logsumexp
from emkit._validation import check_array
from emkit.em import DECREASE_RTOL, fit
from emkit.exceptions import ConvergenceWarning
from emkit.families.canonical import CanonicalFamily
from emkit.mixture import FiniteMixture
from emkit.protocols import (
    ExponentialFamily,
    LatentVariableModel,
    Recenterable,
    RecenterableComponents,
)
from emkit.stats import add, scale, take_components

__all__ = [
    "ADDITIVITY_RTOL",
    "MIN_PIECES",
    "MIN_PIECE_ROWS",
    "MIN_SPLIT_ROWS",
    "NORMALISATION_ATOL",
    "NORMALISATION_DRAWS",
    "NORMALISATION_GRID_POINTS",
    "NORMALISATION_MAX_FEATURES",
    "NORMALISATION_MC_ATOL",
    "NORMALISATION_SIGMAS",
    "OPTIMALITY_RTOL",
    "PERTURBATIONS",
    "RECENTER_RTOL",
    "WEIGHT_RTOL",
    "check_additivity",
    "check_family",
    "check_ingredients",
    "check_model",
    "check_monotone_em",
    "check_mstep_optimality",
    "check_normalisation",
    "check_parameters",
    "check_prior",
    "check_recenter",
    "check_relabelling",
    "check_sample_weight",
    "check_shapes",
    "check_statistics_type",
]

R = TypeVar("R")

# -- tolerances and sizes ----------------------------------------------------------------------

#: Statistics of a split vs the whole differ only by summation order: a few ulps of the total.
ADDITIVITY_RTOL = 1e-9

#: The M-step's objective may fall short of an alternative's only by rounding of the sums.
OPTIMALITY_RTOL = 1e-9

#: Factors by which every parameter is scaled to make nearby alternatives to the M-step's answer.
PERTURBATIONS = (0.9, 0.99, 0.999, 1.001, 1.01, 1.1)

#: Weighted rows vs the same rows repeated differ only by summation order.
WEIGHT_RTOL = 1e-9

#: Statistics moved to another reference point vs the originals: rounding of the shift, which
#: grows with the squared distance moved relative to the spread of the data.
RECENTER_RTOL = 1e-8

#: The additivity check splits ``X`` into at least this many pieces ...
MIN_PIECES = 3

#: ... of at least this many rows each (one-row pieces hide mistakes that only show on sums).
MIN_PIECE_ROWS = 2

#: Fewest rows of ``X`` the model checks accept.
MIN_SPLIT_ROWS = MIN_PIECES * MIN_PIECE_ROWS

#: Exact normalisation (quadrature, sums over the support): allowed ``|Z - 1|`` on top of the
#: quadrature's own error estimate. Covers the mass beyond the summed range of a discrete family.
NORMALISATION_ATOL = 1e-6

#: Monte Carlo normalisation: allowed ``|Z - 1|`` on top of ``NORMALISATION_SIGMAS`` standard
#: errors, for the bias of a proposal that misses a little of the density's far tails.
NORMALISATION_MC_ATOL = 0.02

#: Monte Carlo normalisation: standard errors allowed (a false alarm about once in 10^6 checks).
NORMALISATION_SIGMAS = 5.0

#: Importance-sampling draws per component for the Monte Carlo normalisation check.
NORMALISATION_DRAWS = 20_000

#: Draws from the family's own ``sample`` that locate its mass (ranges, quantiles, proposal).
NORMALISATION_RANGE_DRAWS = 2_000

#: The multi-feature normalisation check uses at most this many leading columns of ``X`` when
#: the family accepts fewer columns (so a mistake that only shows with several features, such
#: as a per-feature constant counted once, is caught at the cost of a 3-D integral).
NORMALISATION_MAX_FEATURES = 3

#: A discrete multi-feature density is summed exactly over a grid of at most this many points;
#: larger grids are checked by importance sampling.
NORMALISATION_GRID_POINTS = 250_000

#: Smallest importance-sampling effective sample size, as a fraction of the draws, from a
#: proposal fitted to the family's own samples. Measured: 0.1 to 0.7 when ``sample`` draws from
#: the density of ``log_prob`` (Gaussians, exponentials on 3 features), below 0.001 when one of
#: them uses a wrong parameterisation; below it the two disagree.
NORMALISATION_MIN_ESS_FRACTION = 0.01

#: Sample quantiles that split a 1-D integral into two tails and a middle interval.
QUADRATURE_TAIL = 0.01

#: Fewest of a 1-D density's mass that must lie between those quantiles of its own samples
#: (about ``1 - 2 * QUADRATURE_TAIL`` when ``sample`` and ``log_prob`` agree).
QUADRATURE_MIN_CENTRAL_MASS = 0.5

#: Relative accuracy asked of ``scipy.integrate.quad`` and its subinterval limit.
QUADRATURE_RTOL = 1e-10
QUADRATURE_LIMIT = 200

#: Integers added on each side of a discrete family's samples, plus this fraction of their range.
DISCRETE_MARGIN = 10
DISCRETE_MARGIN_FRACTION = 0.5

#: A 1-D discrete sum is widened while its edge terms exceed this fraction of the total ...
DISCRETE_EDGE_PROB = 1e-12

#: ... up to this many points (a density that does not decay is then reported as it stands).
DISCRETE_MAX_POINTS = 200_000

#: Continuous proposal of the Monte Carlo check: the sample covariance of the family's draws,
#: inflated by this factor, as a Gaussian mixed with a Student-t of ``PROPOSAL_DOF`` degrees of
#: freedom of weight ``PROPOSAL_DEFENSIVE_WEIGHT`` (its heavy tails keep the importance weights
#: bounded for densities with exponential or polynomial tails).
PROPOSAL_VARIANCE_FACTOR = 2.0
PROPOSAL_DOF = 3.0
PROPOSAL_DEFENSIVE_WEIGHT = 0.1

#: Relative ridge added to the sample covariance of the draws (a feature that never varies).
PROPOSAL_RIDGE = 1e-9

#: Support boundaries: probes at distances ``spread * 2**i`` beyond the samples, then bisection.
SUPPORT_PROBES = 40
SUPPORT_BISECTIONS = 200


# -- helpers -------------------------------------------------------------------------------------


def _describe(obj: Any) -> str:
    """A short name for messages: ``Poisson``, ``FiniteMixture(Poisson)``."""
    if isinstance(obj, FiniteMixture):
        return f"FiniteMixture({type(obj.family).__name__})"
    return type(obj).__name__


def _call(what: str, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """``fn(*args, **kwargs)``; an exception other than AssertionError becomes an AssertionError
    that names the call, so a plugin's crash reads as a finding of the check."""
    try:
        return fn(*args, **kwargs)
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}") from exc


def _leaves(obj: Any, path: str) -> list[tuple[str, Any]]:
    """``(attribute path, value)`` of every leaf of an attrs tree, in field order."""
    if attrs.has(type(obj)):
        out: list[tuple[str, Any]] = []
        for field in attrs.fields(type(obj)):
            out.extend(_leaves(getattr(obj, field.name), f"{path}.{field.name}"))
        return out
    return [(path, obj)]


def _reference_paths(obj: Any, path: str) -> list[str]:
    """Attribute paths of the fields marked ``NOT_ADDITIVE`` (reference points)."""
    found: list[str] = []
    if attrs.has(type(obj)):
        for field in attrs.fields(type(obj)):
            value = getattr(obj, field.name)
            if attrs.has(type(value)):
                found.extend(_reference_paths(value, f"{path}.{field.name}"))
            elif field.metadata.get("additive", True) is False:
                found.append(f"{path}.{field.name}")
    return found


def _get(obj: Any, path: str) -> Any:
    for name in path.split(".")[1:]:
        obj = getattr(obj, name)
    return obj


def _numeric(value: Any) -> Array | None:
    """``value`` as a float64 array, or None when it is not numeric (None, a string...)."""
    if value is None or isinstance(value, str | bytes):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _index(index: tuple[int, ...]) -> str:
    return "" if not index else f" at index {index[0] if len(index) == 1 else index}"


def _assert_trees_close(
    a: Any,
    b: Any,
    rtol: float,
    what: str,
    root: str = "stats",
    labels: tuple[str, str] = ("got", "expected"),
    hint: str = "",
) -> None:
    """Every leaf of ``a`` within ``rtol`` (relative to the leaf's largest entry, at least 1) of
    the matching leaf of ``b``; messages name the leaf by its attribute path."""
    left, right = _leaves(a, root), _leaves(b, root)
    if [p for p, _ in left] != [p for p, _ in right]:
        raise AssertionError(
            f"{what}: the results have different fields: {[p for p, _ in left]} (from "
            f"{labels[0]}) and {[p for p, _ in right]} (from {labels[1]}){hint}"
        )
    for (path, x), (_, y) in zip(left, right, strict=True):
        xa, ya = _numeric(x), _numeric(y)
        if xa is None or ya is None:
            continue
        if xa.shape != ya.shape:
            raise AssertionError(
                f"{what}: `{path}` has shape {xa.shape} from {labels[0]} but {ya.shape} from "
                f"{labels[1]}{hint}"
            )
        if xa.size == 0:
            continue
        nan = np.isnan(xa) | np.isnan(ya)
        if nan.any():
            index = tuple(int(i) for i in np.argwhere(nan)[0])
            raise AssertionError(
                f"{what}: `{path}` is NaN{_index(index)} ({labels[0]}: {xa[index]}, "
                f"{labels[1]}: {ya[index]}){hint}"
            )
        same = xa == ya  # equal infinities included
        diff = np.where(same, 0.0, np.abs(np.where(same, 0.0, xa) - np.where(same, 0.0, ya)))
        finite = np.concatenate([np.abs(xa[np.isfinite(xa)]), np.abs(ya[np.isfinite(ya)])])
        size = max(float(np.max(finite, initial=0.0)), 1.0)
        worst = float(np.max(diff))
        if not worst <= rtol * size:
            index = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
            raise AssertionError(
                f"{what}: `{path}` differs by {worst:.3g}{_index(index)} ({labels[0]}: "
                f"{xa[index]!r}, {labels[1]}: {ya[index]!r}; allowed {rtol:g} x {size:.3g})"
                f"{hint}"
            )


def _first_non_finite(tree: Any, root: str) -> tuple[str, tuple[int, ...], float, int] | None:
    """``(path, index, value, count)`` of the first non-finite numeric leaf entry, or None."""
    for path, value in _leaves(tree, root):
        arr = _numeric(value)
        if arr is None:
            continue
        bad = ~np.isfinite(arr)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
            return path, index, float(arr[index]), int(bad.sum())
    return None


def _row_pieces(n_rows: int) -> list[slice]:
    """Contiguous pieces of unequal sizes, ``MIN_PIECES`` of at least ``MIN_PIECE_ROWS`` rows.

    This is where the additivity check cuts the data; a model with grouped or sequence
    structure would cut between its units here.
    """
    if n_rows < MIN_SPLIT_ROWS:
        raise ValueError(
            f"the additivity check needs at least {MIN_SPLIT_ROWS} rows of `X` (it splits them "
            f"into {MIN_PIECES} pieces of at least {MIN_PIECE_ROWS} rows); got {n_rows}"
        )
    first = max(MIN_PIECE_ROWS, n_rows // 4)
    second = min(max(first + MIN_PIECE_ROWS, (n_rows + 1) // 2), n_rows - MIN_PIECE_ROWS)
    return [slice(0, first), slice(first, second), slice(second, n_rows)]


def _require_rows(X: Array, who: str) -> None:
    if X.shape[0] < MIN_SPLIT_ROWS:
        raise ValueError(
            f"{who} needs at least {MIN_SPLIT_ROWS} rows of `X` (the additivity check splits "
            f"them into {MIN_PIECES} pieces of at least {MIN_PIECE_ROWS} rows); got "
            f"{X.shape[0]}"
        )


def _e_step(
    model: LatentVariableModel[Any, Any], X: Array, params: Any, what: str, **kwargs: Any
) -> tuple[Any, float]:
    result = _call(f"{_describe(model)}.e_step({what})", model.e_step, X, params, **kwargs)
    try:
        stats, log_likelihood = result
    except (TypeError, ValueError):
        raise AssertionError(
            f"{_describe(model)}.e_step must return a pair (stats, log_likelihood); got "
            f"{type(result).__name__}"
        ) from None
    return stats, float(log_likelihood)


# -- what any model must do ------------------------------------------------------------------------


def _kind_of(value: Any) -> str:
    import dataclasses

    if isinstance(value, tuple | list):
        items = "item" if len(value) == 1 else "items"
        return f"a {type(value).__name__} of {len(value)} {items}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))}"
    if dataclasses.is_dataclass(value):
        return (
            f"an instance of the dataclass {type(value).__name__} (decorate it with "
            "@attrs.frozen instead of @dataclass)"
        )
    if isinstance(value, np.ndarray):
        return f"a bare numpy array of shape {value.shape}"
    return f"a {type(value).__name__}"


def check_statistics_type(stats: Any, method: str) -> None:
    """Statistics are an instance of an attrs class whose fields are arrays, numbers, or attrs
    classes of them.

    :mod:`emkit.stats` adds, scales and reorders statistics field by field; the driver, the
    sources and the online algorithms rely on it. A tuple, dict, list or dataclass cannot be
    combined that way.

    Parameters
    ----------
    stats : object
        What ``method`` returned.
    method : str
        The method that returned it, for the message (e.g. ``"MyModel.e_step"``).
    """
    advice = (
        "; declare a frozen attrs class, e.g. `@attrs.frozen(eq=False) class MyStats: "
        "counts: np.ndarray; sum_x: np.ndarray`, and return MyStats(...): emkit.stats adds "
        "statistics field by field"
    )
    if not attrs.has(type(stats)):
        raise AssertionError(
            f"{method} must return its statistics as an instance of a frozen attrs class of "
            f"numpy arrays; got {_kind_of(stats)}{advice}"
        )

    def walk(obj: Any, path: str) -> None:
        for field in attrs.fields(type(obj)):
            value = getattr(obj, field.name)
            where = f"{path}.{field.name}"
            if attrs.has(type(value)):
                walk(value, where)
            elif value is not None and (
                isinstance(value, bool)
                or not isinstance(value, np.ndarray | float | int | np.number)
            ):
                raise AssertionError(
                    f"{method} returned statistics whose field `{where}` is {_kind_of(value)}; "
                    f"every field must be a numpy array, a number or another attrs class{advice}"
                )

    walk(stats, "stats")


def check_parameters(
    model: LatentVariableModel[Any, Any], params: Any, n_features: int, source: str
) -> None:
    """Parameters are finite and the model's own ``validate_params`` accepts them.

    Run on what ``init_params`` and ``m_step`` return before any other law is checked, so that
    an M-step producing NaN (0/0 for an empty component, the square root of a variance that
    cancellation made negative) is reported as such.

    Parameters
    ----------
    model : LatentVariableModel
    params : the parameters to check
    n_features : int
    source : str
        The call that produced them, for the message (e.g. ``"MyModel.m_step"``).
    """
    bad = _first_non_finite(params, "params")
    if bad is not None:
        path, index, value, count = bad
        raise AssertionError(
            f"{source} returned a non-finite parameter: `{path}` is {value}{_index(index)} "
            f"({count} non-finite entr{'y' if count == 1 else 'ies'}). An M-step must give finite "
            "parameters for any statistics of an E-step, also for a component that receives "
            "(almost) no data: floor its count (e.g. at emkit.mixture.COUNT_FLOOR), guard "
            "divisions and square roots, or add a prior"
        )
    try:
        model.validate_params(params, n_features)
    except (ValueError, TypeError) as exc:
        raise AssertionError(
            f"{_describe(model)}.validate_params rejects the parameters returned by {source}: {exc}"
        ) from exc


def _checked_init(model: LatentVariableModel[Any, Any], X: Array, rng: np.random.Generator) -> Any:
    """``init_params(X, rng, "random")``, checked by :func:`check_parameters`."""
    call = f"{_describe(model)}.init_params(X, rng, 'random')"
    params = _call(call, model.init_params, X, rng, "random")
    check_parameters(model, params, X.shape[1], call)
    return params


def _checked_iteration(
    model: LatentVariableModel[Any, Any], X: Array, params: Any
) -> tuple[Any, Any]:
    """One E-step (attrs statistics, finite) and one M-step (checked parameters) from
    ``params``; returns the new parameters and the statistics of the E-step."""
    name = _describe(model)
    stats, log_likelihood = _e_step(model, X, params, "X, params")
    check_statistics_type(stats, f"{name}.e_step")
    bad = _first_non_finite(stats, "stats")
    if bad is not None or not math.isfinite(log_likelihood):
        where = (
            f"`{bad[0]}` is {bad[2]}{_index(bad[1])}"
            if bad
            else f"the log-likelihood is {log_likelihood}"
        )
        raise AssertionError(
            f"{name}.e_step returned non-finite results at the parameters of init_params: {where}"
        )
    new_params = _call(f"{name}.m_step(stats)", model.m_step, stats)
    check_parameters(model, new_params, X.shape[1], f"{name}.m_step")
    return new_params, stats


def check_additivity(
    model: LatentVariableModel[Any, Any], X: Array, params: Any, split: int | None = None
) -> None:
    """The statistics and log-likelihood of row pieces of ``X`` add up to those of all of ``X``.

    Parameters
    ----------
    model : LatentVariableModel
    X : array of shape (n_samples, n_features)
        At least ``MIN_SPLIT_ROWS`` rows unless ``split`` is given.
    params : parameters of ``model``
    split : int, optional
        Split into ``X[:split]`` and ``X[split:]`` only; by default ``X`` is cut into
        ``MIN_PIECES`` pieces of unequal sizes, each of at least ``MIN_PIECE_ROWS`` rows.
    """
    name = _describe(model)
    pieces = _row_pieces(X.shape[0]) if split is None else [slice(0, split), slice(split, None)]
    whole, log_likelihood = _e_step(model, X, params, "X, params")
    parts = [_e_step(model, X[p], params, f"X[{p.start}:{p.stop}], params") for p in pieces]
    sizes = [len(range(*p.indices(X.shape[0]))) for p in pieces]
    described = f"{len(pieces)} pieces of {', '.join(map(str, sizes))} rows"
    total = parts[0][0]
    for part, _ in parts[1:]:
        try:
            total = add(total, part)
        except ValueError as exc:
            raise AssertionError(
                f"additivity of {name}.e_step: the statistics of {described} cannot be added: "
                f"{exc}. A reference field (marked NOT_ADDITIVE) must depend on the parameters "
                "only, never on the rows of the chunk"
            ) from exc
    _assert_trees_close(
        total,
        whole,
        ADDITIVITY_RTOL,
        f"additivity of {name}.e_step over {described}",
        labels=("pieces added", "all rows"),
        hint=". e_step must return sums over the rows of X, not means or other summaries",
    )
    summed = sum(ll for _, ll in parts)
    if not abs(summed - log_likelihood) <= ADDITIVITY_RTOL * max(abs(log_likelihood), 1.0):
        raise AssertionError(
            f"additivity of {name}.e_step over {described}: the log-likelihoods of the pieces "
            f"add up to {summed!r}, all rows give {log_likelihood!r}; the log-likelihood must "
            "be a sum over rows"
        )


def check_sample_weight(
    model: LatentVariableModel[Any, Any],
    X: Array,
    params: Any,
    rng: np.random.Generator | None = None,
) -> None:
    """``e_step(X, params, weights=w)`` equals ``e_step(np.repeat(X, w, axis=0), params)``.

    The weights are integers from 0 to 3 (at least one 0 and one 3), so an E-step that drops
    ``weights``, applies them to the log-likelihood only, or normalises them, is caught. The law
    holds for models whose rows are independent.

    Parameters
    ----------
    model : LatentVariableModel
    X : array of shape (n_samples, n_features), at least 2 rows
    params : parameters of ``model``
    rng : numpy Generator, optional
        Draws the weights (default: seed 0).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"check_sample_weight needs at least 2 rows of `X`; got {n}")
    counts: Array = np.asarray(rng.integers(0, 4, size=n))
    counts[0], counts[-1] = 0, 3
    weights = counts.astype(np.float64)
    name = _describe(model)
    weighted, ll_weighted = _e_step(model, X, params, "X, params, weights=w", weights=weights)
    repeated, ll_repeated = _e_step(model, np.repeat(X, counts, axis=0), params, "repeated rows")
    what = (
        f"{name}.e_step ignores or mis-applies `weights`: with integer row weights (0 to 3) it "
        "must give the statistics of the rows repeated that many times"
    )
    _assert_trees_close(
        weighted,
        repeated,
        WEIGHT_RTOL,
        what,
        labels=("weights", "repeated rows"),
        hint="; multiply each row's responsibilities (and its log-likelihood) by its weight",
    )
    if not abs(ll_weighted - ll_repeated) <= WEIGHT_RTOL * max(abs(ll_repeated), 1.0):
        raise AssertionError(
            f"{name}.e_step ignores or mis-applies `weights`: the log-likelihood with integer "
            f"row weights is {ll_weighted!r}, the rows repeated that many times give "
            f"{ll_repeated!r}; it must be sum_n w_n log p(x_n)"
        )


def _can_refuse_recentering(stats: Any) -> bool:
    """True when some nested statistics hold reference fields but cannot move them: the
    documented default is then to refuse (see :class:`emkit.protocols.Recenterable`)."""
    for path in _reference_paths(stats, "stats"):
        owner = _get(stats, path.rsplit(".", 1)[0])
        if not isinstance(owner, Recenterable | RecenterableComponents):
            return True
    return False


def _runs_recenter_check(stats: Any) -> bool:
    return isinstance(stats, Recenterable) and not _can_refuse_recentering(stats)


def check_recenter(model: LatentVariableModel[Any, Any], X: Array, params: Any) -> None:
    """``stats.recenter(like)`` moves statistics to ``like``'s reference point exactly.

    With ``a = e_step(X, params)`` and ``b`` the statistics of the next EM iteration (another
    reference point): ``a.recenter(b)`` is of the same type, takes ``b``'s reference fields, can
    be added to ``b``, gives the same M-step as ``a``, and moving it back gives ``a``.

    Parameters
    ----------
    model : LatentVariableModel
        Its statistics have the method ``recenter(like)``
        (:class:`emkit.protocols.Recenterable`).
    X : array of shape (n_samples, n_features)
    params : parameters of ``model``
    """
    name = _describe(model)
    first, _ = _e_step(model, X, params, "X, params")
    if not isinstance(first, Recenterable):
        raise AssertionError(
            f"the statistics {type(first).__name__} of {name}.e_step have no method "
            "recenter(like) (emkit.protocols.Recenterable)"
        )
    moved_params = _call(f"{name}.m_step", model.m_step, first)
    second, _ = _e_step(model, X, moved_params, "X, params of the next iteration")
    method = f"{type(first).__name__}.recenter"
    inner = getattr(first, "components", None)
    if isinstance(inner, RecenterableComponents):
        method += f" (through {type(inner).__name__}.recenter(like, counts))"
    moved = _call(f"{method}(like)", first.recenter, second)
    if type(moved) is not type(first):
        raise AssertionError(
            f"{method} must return {type(first).__name__}; got {type(moved).__name__}"
        )
    for path in _reference_paths(second, "stats"):
        theirs, got = np.asarray(_get(second, path)), np.asarray(_get(moved, path))
        if theirs.shape != got.shape or not np.array_equal(theirs, got):
            raise AssertionError(
                f"{method}(like) must take the reference fields of `like`: `{path}` differs"
            )
    _call(f"emkit.stats.add of {method}(like) and like", add, moved, second)
    _assert_trees_close(
        _call(f"{name}.m_step", model.m_step, moved),
        moved_params,
        RECENTER_RTOL,
        f"{name}.m_step of statistics moved by {method} differs from the M-step of the originals",
        root="params",
        labels=("moved", "original"),
        hint="; moving the reference point must change no sum the M-step uses",
    )
    back = _call(f"{method}(like)", moved.recenter, first)
    _assert_trees_close(
        back,
        first,
        RECENTER_RTOL,
        f"{method} there and back does not return the original statistics",
        labels=("moved there and back", "original"),
    )


def check_monotone_em(
    model: LatentVariableModel[Any, Any], X: Array, max_iter: int = 30, random_state: int = 0
) -> None:
    """EM from a random start never decreases ``log-likelihood + log-prior``.

    Parameters
    ----------
    model : LatentVariableModel
    X : array of shape (n_samples, n_features)
    max_iter : int, default 30
        EM iterations, all run (``tol=0``).
    random_state : int, default 0
    """
    with warnings.catch_warnings():
        # tol=0 runs all max_iter iterations on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = _call(
            f"emkit.fit({_describe(model)}, X, init='random')",
            fit,
            model,
            X,
            init="random",
            max_iter=max_iter,
            tol=0.0,
            random_state=random_state,
        )
    history = np.asarray(result.history)
    rtol = DECREASE_RTOL[np.dtype(np.float64)]
    allowed = rtol * (np.abs(history[:-1]) + result.n_samples)
    drops = history[:-1] - history[1:]
    if not (drops <= allowed).all():
        worst = int(np.argmax(np.where(np.isnan(drops), np.inf, drops)))
        raise AssertionError(
            f"EM on {_describe(model)} decreased the objective (log-likelihood + log-prior) by "
            f"{float(drops[worst]):.3g} at iteration {worst + 1} (from {history[worst]!r} to "
            f"{history[worst + 1]!r}): the M-step is not the argmax of the expected "
            "complete-data log-likelihood, or log_prior does not match the prior the M-step uses"
        )


def check_model(model: LatentVariableModel[Any, Any], X: Any, random_state: int = 0) -> None:
    """Contract checks for any latent-variable model.

    In order: the parameters of ``init_params`` and of one ``m_step`` are finite and pass
    ``validate_params``; ``e_step`` returns attrs statistics; additivity over a three-way row
    split; integer sample weights equal repeated rows; ``recenter`` (when the statistics have
    it); monotone EM from a random start.

    Parameters
    ----------
    model : LatentVariableModel
    X : array-like of shape (n_samples, n_features)
        At least ``MIN_SPLIT_ROWS`` (6) rows in the model's domain.
    random_state : int, default 0

    Raises
    ------
    AssertionError
        A law is broken; the message names the method and the field at fault.
    ValueError
        ``X`` has too few rows, or lies outside the model's domain.
    """
    X = model.validate_data(check_array(X))
    _require_rows(X, "check_model")
    params = _checked_init(model, X, np.random.default_rng(random_state))
    params, stats = _checked_iteration(model, X, params)
    check_additivity(model, X, params)
    check_sample_weight(model, X, params)
    if _runs_recenter_check(stats):
        check_recenter(model, X, params)
    check_monotone_em(model, X, random_state=random_state)


# -- what an exponential family must do ----------------------------------------------------------


def _expect_shape(got: Any, expected: tuple[int, ...], what: str, rule: str, hint: str) -> Array:
    arr = np.asarray(got)
    if arr.shape != expected:
        raise AssertionError(f"{what} must return {rule} = {expected}; got shape {arr.shape}{hint}")
    return arr


def check_ingredients(family: Any, X: Array, n_components: int = 3, random_state: int = 0) -> None:
    """The four ingredients of a :class:`~emkit.CanonicalFamily` have the documented shapes.

    ``sufficient_statistics(X)`` is (n_samples, n_stats); ``natural_parameters(mean)`` is
    (n_components, n_stats); ``log_partition(natural)`` is (n_components,);
    ``log_base_measure(X)`` is (n_samples,) and 0 when ``zero_base_measure`` is set. Families that
    are not a CanonicalFamily have no ingredients: nothing is checked.

    Parameters
    ----------
    family : CanonicalFamily
    X : array of shape (n_samples, n_features), in the family's support
    n_components : int, default 3
    random_state : int, default 0
        Draws the mean parameters the ingredients are evaluated at (averages of T(X) over
        random groups of rows).
    """
    if not isinstance(family, CanonicalFamily):
        return
    name = type(family).__name__
    n = X.shape[0]
    t = np.asarray(_call(f"{name}.sufficient_statistics(X)", family.sufficient_statistics, X))
    if t.ndim != 2 or t.shape[0] != n:
        hint = (
            ": a 1-D array has no statistics axis; return X[:, None] or "
            "np.column_stack([...]) for one statistic per row"
            if t.ndim == 1
            else ""
        )
        raise AssertionError(
            f"{name}.sufficient_statistics(X) must return T(X) of shape (n_samples, n_stats) "
            f"= ({n}, n_stats), one row per sample; got shape {t.shape}{hint}"
        )
    if not np.isfinite(t).all():
        raise AssertionError(
            f"{name}.sufficient_statistics(X) is not finite on data in the support"
        )
    n_stats = t.shape[1]
    rng = np.random.default_rng(random_state)
    onehot = np.eye(n_components)[rng.integers(0, n_components, size=n)]
    sizes = onehot.sum(axis=0)
    overall = t.mean(axis=0)
    group_means = np.where(
        sizes[:, None] > 0, (onehot.T @ t) / np.maximum(sizes, 1.0)[:, None], overall
    )
    mean = 0.5 * group_means + 0.5 * overall
    with np.errstate(all="ignore"):
        natural = _expect_shape(
            _call(f"{name}.natural_parameters(mean)", family.natural_parameters, mean),
            (n_components, n_stats),
            f"{name}.natural_parameters(mean)",
            "eta of shape (n_components, n_stats)",
            "",
        )
        log_partition = np.asarray(
            _call(f"{name}.log_partition(natural)", family.log_partition, natural)
        )
        _expect_shape(
            log_partition,
            (n_components,),
            f"{name}.log_partition(natural)",
            "A(eta) of shape (n_components,)",
            ": one value per component (sum over the statistics without keepdims, or index [:, 0])"
            if log_partition.size == n_components
            else "",
        )
    log_h = np.asarray(_call(f"{name}.log_base_measure(X)", family.log_base_measure, X))
    _expect_shape(
        log_h,
        (n,),
        f"{name}.log_base_measure(X)",
        "log h(x) of shape (n_samples,)",
        ": one value per row (sum over the features without keepdims)" if log_h.size == n else "",
    )
    if not np.isfinite(log_h).all():
        row = int(np.flatnonzero(~np.isfinite(log_h))[0])
        raise AssertionError(
            f"{name}.log_base_measure(X) is {log_h[row]} at row {row}, a point in the support"
        )
    if family.zero_base_measure and np.any(log_h != 0):
        row = int(np.flatnonzero(log_h != 0)[0])
        raise AssertionError(
            f"{name} sets zero_base_measure = True, but log_base_measure(X) is {log_h[row]!r} at "
            "row {row}: the E-step skips log h(x), so every log-likelihood (and BIC) is wrong; "
            "set zero_base_measure = False"
        )


def check_prior(family: Any, n_features: int) -> None:
    """A :class:`~emkit.CanonicalFamily`'s conjugate prior ``prior() = (tau, m0)`` is proper.

    ``tau`` (pseudo-observations) is finite and ``>= 0``; when ``tau > 0``, ``m0`` broadcast to
    (1, n_stats) passes ``check_mean`` and gives finite natural parameters and log-partition.
    Families that are not a CanonicalFamily have no ``(tau, m0)``: nothing is checked.

    Parameters
    ----------
    family : CanonicalFamily
    n_features : int
    """
    if not isinstance(family, CanonicalFamily):
        return
    name = type(family).__name__
    tau, m0 = _call(f"{name}.prior()", family.prior)
    if not (math.isfinite(float(tau)) and float(tau) >= 0.0):
        raise AssertionError(
            f"the conjugate prior's strength tau={tau!r} of {name} must be a finite number >= 0 "
            "(a count of pseudo-observations; 0 means no prior)"
        )
    if float(tau) == 0.0:
        return
    n_stats = np.asarray(family.sufficient_statistics(np.zeros((1, n_features)))).shape[1]
    try:
        row = np.array(np.broadcast_to(np.asarray(m0, dtype=np.float64), (1, n_stats)))
    except (TypeError, ValueError) as exc:
        raise AssertionError(
            f"the conjugate prior's mean m0={m0!r} of {name} must broadcast to (1, n_stats) = "
            f"{(1, n_stats)}: {exc}"
        ) from exc
    shown = np.asarray(m0).tolist()
    try:
        family.check_mean(row)
    except ValueError as exc:
        raise AssertionError(
            f"the conjugate prior's mean m0={shown} lies outside the mean space of {name}: "
            f"{exc}. prior() must return (tau, m0) with m0 a valid mean parameter E[T(x)], the "
            "mean of the pseudo-observations"
        ) from exc
    with np.errstate(all="ignore"):
        natural = np.asarray(family.natural_parameters(row))
        log_partition = np.asarray(family.log_partition(natural))
    if not (np.isfinite(natural).all() and np.isfinite(log_partition).all()):
        raise AssertionError(
            f"the conjugate prior's mean m0={shown} lies outside the mean space of {name}: its "
            f"natural parameters are {natural.tolist()} and log-partition "
            f"{log_partition.tolist()} (they must be finite); choose m0 inside the mean space, "
            "not on its boundary"
        )


def check_shapes(family: ExponentialFamily[Any, Any], X: Array, params: Any) -> None:
    """``log_prob``, ``mean`` and ``sample`` have the documented shapes; ``log_prob`` is finite
    on the data and on the family's own samples, which lie in its support.

    Parameters
    ----------
    family : ExponentialFamily
    X : array of shape (n_samples, n_features), in the family's support
    params : component parameters of ``family``
    """
    name = type(family).__name__
    means = np.asarray(_call(f"{name}.mean(params)", family.mean, params))
    if means.ndim != 2 or means.shape[1] != X.shape[1]:
        raise AssertionError(
            f"{name}.mean(params) must return shape (n_components, n_features) = "
            f"(n_components, {X.shape[1]}); got shape {means.shape}"
        )
    n_components = means.shape[0]
    log_p = np.asarray(_call(f"{name}.log_prob(X, params)", family.log_prob, X, params))
    if log_p.shape != (X.shape[0], n_components):
        raise AssertionError(
            f"{name}.log_prob must return shape (n_samples, n_components) = "
            f"{(X.shape[0], n_components)}; got shape {log_p.shape}"
        )
    if not np.isfinite(log_p).all():
        row, k = (int(i) for i in np.argwhere(~np.isfinite(log_p))[0])
        raise AssertionError(
            f"{name}.log_prob must be finite on data in the family's support; it is "
            f"{log_p[row, k]} at row {row}, component {k}"
        )
    rng = np.random.default_rng(0)
    for k in sorted({0, n_components - 1}):
        draws = np.asarray(_call(f"{name}.sample", family.sample, params, k, 7, rng))
        if draws.shape != (7, X.shape[1]):
            raise AssertionError(
                f"{name}.sample(params, {k}, 7, rng) must return (n, n_features) = "
                f"{(7, X.shape[1])}; got shape {draws.shape}"
            )
        try:
            family.validate_data(draws)
        except ValueError as exc:
            raise AssertionError(
                f"{name}.sample drew rows of component {k} that validate_data rejects: {exc}"
            ) from exc
        log_q = np.asarray(family.log_prob(draws, params))[:, k]
        if not np.isfinite(log_q).all():
            raise AssertionError(
                f"{name}.log_prob of component {k} is {log_q[~np.isfinite(log_q)][0]} at a "
                f"point drawn from component {k} by sample(): the two disagree about the support"
            )


# -- normalisation -------------------------------------------------------------------------------


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
        params = _call(f"FiniteMixture({name}).init_params", mixture.init_params, X, rng, "random")
        fitted = [(X, params.components)]
    for columns, params in fitted:
        n_features = columns.shape[1]
        k_total = np.asarray(family.mean(params)).shape[0]
        draws = [
            np.asarray(
                _call(f"{name}.sample", family.sample, params, k, NORMALISATION_RANGE_DRAWS, rng),
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


# -- the remaining family laws -------------------------------------------------------------------


def check_relabelling(family: ExponentialFamily[Any, Any], X: Array, params: Any) -> None:
    """Permuting the components permutes the columns of ``log_prob`` and nothing else.

    Parameters
    ----------
    family : ExponentialFamily
    X : array of shape (n_samples, n_features)
    params : component parameters of ``family``
    """
    n_components = family.mean(params).shape[0]
    order = np.roll(np.arange(n_components), 1)
    permuted = take_components(params, order)
    expected = family.log_prob(X, params)[:, order]
    got = family.log_prob(X, permuted)
    worst = float(np.max(np.abs(got - expected)))
    if not worst <= ADDITIVITY_RTOL * max(float(np.max(np.abs(expected))), 1.0):
        raise AssertionError(
            f"relabelled components change {type(family).__name__}.log_prob by {worst:.3g}: "
            "a parameter field mixes components, or is not indexed by component along axis 0 "
            "(emkit.stats.take_components reorders axis 0 of every field of length n_components)"
        )


def _complete_data_objective(
    family: ExponentialFamily[Any, Any], X: Array, labels: Array, params: Any
) -> float:
    log_p = family.log_prob(X, params)
    return float(log_p[np.arange(X.shape[0]), labels].sum() + family.log_prior(params))


def check_mstep_optimality(
    family: ExponentialFamily[Any, Any],
    X: Array,
    n_components: int,
    rng: np.random.Generator | None = None,
) -> None:
    """On hard labels, ``maximize`` is the best parameter value for the complete data.

    Parameters
    ----------
    family : ExponentialFamily
    X : array of shape (n_samples, n_features)
    n_components : int
    rng : numpy Generator, optional
        Draws the labels and the alternatives (default: seed 0).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    model = FiniteMixture(family, n_components)
    labels = rng.permutation(np.arange(X.shape[0]) % n_components)
    hard = np.eye(n_components)[labels]
    best = model.params_from_responsibilities(X, hard).components
    target = _complete_data_objective(family, X, labels, best)
    alternatives = [
        model.params_from_responsibilities(X, 0.5 * soft + 0.5 * hard).components
        for soft in (rng.dirichlet(np.ones(n_components), size=X.shape[0]) for _ in range(4))
    ]
    # Small moves around the M-step's answer catch an M-step that is merely close to the optimum.
    for factor in PERTURBATIONS:
        try:
            alternatives.append(
                family.validate_params(scale(best, factor), n_components, X.shape[1])
            )
        except ValueError:
            continue  # the move left the parameter space
    for other in alternatives:
        alternative = _complete_data_objective(family, X, labels, other)
        if not target >= alternative - OPTIMALITY_RTOL * max(abs(target), 1.0):
            raise AssertionError(
                f"{type(family).__name__}.maximize() is not the complete-data optimum on hard "
                f"labels: {target} < {alternative} for other parameters (a wrong eta(mean), "
                "A(eta) or prior, or an M-step that is not moment matching)"
            )


def _check_family_stats_type(
    family: ExponentialFamily[Any, Any], X: Array, n_components: int, rng: np.random.Generator
) -> None:
    name = type(family).__name__
    resp = rng.dirichlet(np.ones(n_components), size=X.shape[0])
    center = (resp.T @ X) / resp.sum(axis=0)[:, None]
    stats = _call(f"{name}.expected_stats(X, resp, center)", family.expected_stats, X, resp, center)
    check_statistics_type(stats, f"{name}.expected_stats")


def check_family(
    family: ExponentialFamily[Any, Any], X: Any, n_components: int = 3, random_state: int = 0
) -> None:
    """Every contract check on an exponential family, with data ``X`` in its support.

    Runs, in order: :func:`check_ingredients` and :func:`check_prior` (CanonicalFamily only), the
    statistics type of ``expected_stats``, :func:`check_parameters` on ``init_params``,
    :func:`check_shapes`, the statistics of one ``e_step`` and :func:`check_parameters` on one
    ``m_step``, :func:`check_normalisation`, :func:`check_additivity`,
    :func:`check_sample_weight`, :func:`check_recenter` (statistics that can move their
    reference point), :func:`check_relabelling`, :func:`check_mstep_optimality` and
    :func:`check_monotone_em`.

    Parameters
    ----------
    family : ExponentialFamily
    X : array-like of shape (n_samples, n_features)
        At least ``MIN_SPLIT_ROWS`` (6) rows in the family's support; ``3 * n_components`` or
        more make the M-step checks meaningful.
    n_components : int, default 3
    random_state : int, default 0

    Raises
    ------
    AssertionError
        A law is broken; the message names the method at fault.
    ValueError
        ``X`` has too few rows, or lies outside the family's support.
    """
    X = family.validate_data(check_array(X))
    _require_rows(X, "check_family")
    rng = np.random.default_rng(random_state)
    check_ingredients(family, X, n_components, random_state)
    check_prior(family, X.shape[1])
    _check_family_stats_type(family, X, n_components, rng)
    model = FiniteMixture(family, n_components)
    params = _checked_init(model, X, rng)
    check_shapes(family, X, params.components)
    params, stats = _checked_iteration(model, X, params)
    check_normalisation(family, X, n_components, random_state)
    check_additivity(model, X, params)
    check_sample_weight(model, X, params)
    if _runs_recenter_check(stats):
        check_recenter(model, X, params)
    check_relabelling(family, X, params.components)
    check_mstep_optimality(family, X, n_components, rng)
    check_monotone_em(model, X, random_state=random_state)
