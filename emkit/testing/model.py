"""The checks any [`LatentVariableModel`][emkit.protocols.LatentVariableModel] must pass.

Parameters, the statistics type, additivity over a row split, sample weights, recentering and
monotone EM; [`check_model`][emkit.testing.check_model] runs them all.
[`emkit.testing.check_family`][emkit.testing.check_family] runs them on a finite mixture of the
family it checks.
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import attrs
import numpy as np

from emkit._backend import Array
from emkit._validation import check_array
from emkit.em import DECREASE_RTOL, fit
from emkit.exceptions import ConvergenceWarning
from emkit.protocols import LatentVariableModel, Recenterable, RecenterableComponents
from emkit.sources import check_lengths
from emkit.sources.chunking import blocks_for
from emkit.stats import add
from emkit.testing.missing import handles_missing, with_missing
from emkit.testing.reporting import call_e_step, call_plugin, describe
from emkit.testing.tolerances import (
    ADDITIVITY_RTOL,
    MIN_PIECE_ROWS,
    MIN_PIECES,
    MIN_SPLIT_ROWS,
    RECENTER_RTOL,
    WEIGHT_RTOL,
)
from emkit.testing.trees import (
    assert_trees_close,
    first_non_finite,
    get_path,
    index_text,
    reference_paths,
)

__all__ = [
    "block_pieces",
    "check_additivity",
    "check_missing_values",
    "check_model",
    "check_monotone_em",
    "check_parameters",
    "check_recenter",
    "check_sample_weight",
    "check_statistics_type",
    "checked_init",
    "checked_iteration",
    "require_rows",
    "row_pieces",
    "runs_recenter_check",
]

# -- the row split ---------------------------------------------------------------------------------


def row_pieces(n_rows: int) -> list[slice]:
    """Where the additivity check cuts the rows of ``X``.

    Contiguous pieces of unequal sizes, ``MIN_PIECES`` of at least ``MIN_PIECE_ROWS`` rows. A
    model with grouped or sequence structure would cut between its units here.

    Parameters
    ----------
    n_rows : int
        Rows of ``X``, at least ``MIN_SPLIT_ROWS``.

    Returns
    -------
    list of slice
        Contiguous pieces that cover ``range(n_rows)`` in order.

    Raises
    ------
    ValueError
        ``n_rows < MIN_SPLIT_ROWS``.
    """
    if n_rows < MIN_SPLIT_ROWS:
        raise ValueError(
            f"the additivity check needs at least {MIN_SPLIT_ROWS} rows of `X` (it splits them "
            f"into {MIN_PIECES} pieces of at least {MIN_PIECE_ROWS} rows); got {n_rows}"
        )
    first = max(MIN_PIECE_ROWS, n_rows // 4)
    second = min(max(first + MIN_PIECE_ROWS, (n_rows + 1) // 2), n_rows - MIN_PIECE_ROWS)
    return [slice(0, first), slice(first, second), slice(second, n_rows)]


def block_pieces(lengths: Array) -> list[slice]:
    """Where the additivity check cuts the rows of a model whose rows come in blocks.

    Between blocks (sequences, groups), never inside one: ``MIN_PIECES`` contiguous pieces of
    whole blocks, of unequal numbers of blocks where there are enough.

    Parameters
    ----------
    lengths : int array of shape (n_blocks,)
        At least ``MIN_PIECES`` blocks.

    Returns
    -------
    list of slice
        Contiguous row pieces that cover all rows in order, each ending where a block ends.

    Raises
    ------
    ValueError
        Fewer than ``MIN_PIECES`` blocks.
    """
    n_blocks = lengths.shape[0]
    if n_blocks < MIN_PIECES:
        raise ValueError(
            f"the additivity check of a model whose rows come in blocks needs at least "
            f"{MIN_PIECES} blocks (sequences or groups) in `lengths`; got {n_blocks}"
        )
    ends = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    first = max(1, n_blocks // 4)
    second = min(max(first + 1, (n_blocks + 1) // 2), n_blocks - 1)
    cuts = [0, first, second, n_blocks]
    return [slice(int(ends[a]), int(ends[b])) for a, b in itertools.pairwise(cuts)]


def _blocks_of(piece: slice, lengths: Array) -> Array:
    """The sizes of the blocks inside a piece that starts and ends between blocks."""
    ends = np.cumsum(lengths)
    first = int(np.searchsorted(ends, piece.start, side="right"))
    last = int(np.searchsorted(ends, piece.stop, side="right"))
    return lengths[first:last]


def model_lengths(model: LatentVariableModel[Any, Any], X: Array, lengths: Any) -> Array | None:
    """The blocks the checks use: ``lengths`` (checked) for a
    [`RowBlocks`][emkit.protocols.RowBlocks] model, its default blocks without them, ``None``
    for a model of independent rows (which must not be given ``lengths``).

    Parameters
    ----------
    model : LatentVariableModel
    X : array of shape (n_samples, n_features)
    lengths : int array-like of shape (n_blocks,) or None

    Returns
    -------
    int array of shape (n_blocks,) or None
    """
    checked = None if lengths is None else check_lengths(lengths, X.shape[0])
    return blocks_for(model, X.shape[0], checked)


def _with_lengths(lengths: Array | None) -> dict[str, Any]:
    return {} if lengths is None else {"lengths": lengths}


def require_rows(X: Array, who: str) -> None:
    """Refuse data too short for the additivity check's split, before anything else runs.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    who : str
        The check that needs the rows, for the message (e.g. ``"check_model"``).

    Raises
    ------
    ValueError
        ``X`` has fewer than ``MIN_SPLIT_ROWS`` rows.
    """
    if X.shape[0] < MIN_SPLIT_ROWS:
        raise ValueError(
            f"{who} needs at least {MIN_SPLIT_ROWS} rows of `X` (the additivity check splits "
            f"them into {MIN_PIECES} pieces of at least {MIN_PIECE_ROWS} rows); got "
            f"{X.shape[0]}"
        )


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

    [`emkit.stats`][emkit.stats] adds, scales and reorders statistics field by field (a tuple
    field item by item); the driver, the sources and the online algorithms rely on it. A dict,
    list or dataclass cannot be combined that way.

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
            check(getattr(obj, field.name), f"{path}.{field.name}")

    def check(value: Any, where: str) -> None:
        if attrs.has(type(value)):
            walk(value, where)
        elif isinstance(value, tuple):
            # One subtree per item (a product family's parts), combined item by item.
            for i, item in enumerate(value):
                check(item, f"{where}[{i}]")
        elif value is not None and (
            isinstance(value, bool) or not isinstance(value, np.ndarray | float | int | np.number)
        ):
            raise AssertionError(
                f"{method} returned statistics whose field `{where}` is {_kind_of(value)}; "
                "every field must be a numpy array, a number, another attrs class or a tuple "
                f"of them{advice}"
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
    bad = first_non_finite(params, "params")
    if bad is not None:
        path, index, value, count = bad
        raise AssertionError(
            f"{source} returned a non-finite parameter: `{path}` is {value}{index_text(index)} "
            f"({count} non-finite entr{'y' if count == 1 else 'ies'}). An M-step must give finite "
            "parameters for any statistics of an E-step, also for a component that receives "
            "(almost) no data: floor its count (e.g. at emkit.mixture.COUNT_FLOOR), guard "
            "divisions and square roots, or add a prior"
        )
    try:
        model.validate_params(params, n_features)
    except (ValueError, TypeError) as exc:
        raise AssertionError(
            f"{describe(model)}.validate_params rejects the parameters returned by {source}: {exc}"
        ) from exc


def checked_init(model: LatentVariableModel[Any, Any], X: Array, rng: np.random.Generator) -> Any:
    """Random initial parameters of ``model``, checked by
    [`check_parameters`][emkit.testing.check_parameters].

    Parameters
    ----------
    model : LatentVariableModel
    X : array of shape (n_samples, n_features)
    rng : numpy Generator

    Returns
    -------
    object
        ``model.init_params(X, rng, "random")``.

    Raises
    ------
    AssertionError
        ``init_params`` crashed, or gave parameters that are not finite or that
        ``validate_params`` rejects.
    """
    call = f"{describe(model)}.init_params(X, rng, 'random')"
    params = call_plugin(call, model.init_params, X, rng, "random")
    check_parameters(model, params, X.shape[1], call)
    return params


def checked_iteration(
    model: LatentVariableModel[Any, Any], X: Array, params: Any, lengths: Array | None = None
) -> tuple[Any, Any]:
    """One EM iteration from ``params``, each half checked.

    The E-step must return finite statistics of an attrs class
    ([`check_statistics_type`][emkit.testing.check_statistics_type]) and a finite log-likelihood;
    the M-step must return parameters that pass
    [`check_parameters`][emkit.testing.check_parameters].

    Parameters
    ----------
    model : LatentVariableModel
    X : array of shape (n_samples, n_features)
    params : parameters of ``model``
    lengths : int array of shape (n_blocks,), optional
        The blocks of ``X``, passed to ``e_step`` (for a [`RowBlocks`][emkit.protocols.RowBlocks]
        model).

    Returns
    -------
    new_params : object
        The parameters of the M-step.
    stats : object
        The statistics of the E-step.

    Raises
    ------
    AssertionError
        Either step crashed or broke one of those rules.
    """
    name = describe(model)
    stats, log_likelihood = call_e_step(model, X, params, "X, params", **_with_lengths(lengths))
    check_statistics_type(stats, f"{name}.e_step")
    bad = first_non_finite(stats, "stats")
    if bad is not None or not math.isfinite(log_likelihood):
        where = (
            f"`{bad[0]}` is {bad[2]}{index_text(bad[1])}"
            if bad
            else f"the log-likelihood is {log_likelihood}"
        )
        raise AssertionError(
            f"{name}.e_step returned non-finite results at the parameters of init_params: {where}"
        )
    new_params = call_plugin(f"{name}.m_step(stats)", model.m_step, stats)
    check_parameters(model, new_params, X.shape[1], f"{name}.m_step")
    return new_params, stats


def check_additivity(
    model: LatentVariableModel[Any, Any],
    X: Array,
    params: Any,
    split: int | None = None,
    lengths: Any = None,
) -> None:
    """The statistics and log-likelihood of row pieces of ``X`` add up to those of all of ``X``.

    For a model whose rows come in blocks ([`RowBlocks`][emkit.protocols.RowBlocks]: sequences,
    groups) the pieces are whole blocks and each piece's ``e_step`` gets its blocks as
    ``lengths``.

    Parameters
    ----------
    model : LatentVariableModel
    X : array of shape (n_samples, n_features)
        At least ``MIN_SPLIT_ROWS`` rows (or ``MIN_PIECES`` blocks) unless ``split`` is given.
    params : parameters of ``model``
    split : int, optional
        Split into ``X[:split]`` and ``X[split:]`` only (between blocks for a blocked model); by
        default ``X`` is cut into ``MIN_PIECES`` pieces of unequal sizes, each of at least
        ``MIN_PIECE_ROWS`` rows (or one block).
    lengths : int array-like of shape (n_blocks,), optional
        The blocks of ``X`` for a blocked model (default: the model's ``default_lengths``).
    """
    name = describe(model)
    blocks = model_lengths(model, X, lengths)
    if split is not None:
        pieces = [slice(0, split), slice(split, X.shape[0])]
    elif blocks is not None:
        pieces = block_pieces(blocks)
    else:
        pieces = row_pieces(X.shape[0])
    if blocks is not None and not all(
        p.stop in set(np.cumsum(blocks).tolist()) for p in pieces[:-1]
    ):
        raise ValueError(
            f"`split` must fall between the blocks of `lengths` (at one of "
            f"{np.cumsum(blocks).tolist()}); got {split}"
        )
    whole, log_likelihood = call_e_step(model, X, params, "X, params", **_with_lengths(blocks))
    parts = [
        call_e_step(
            model,
            X[p],
            params,
            f"X[{p.start}:{p.stop}], params",
            **_with_lengths(None if blocks is None else _blocks_of(p, blocks)),
        )
        for p in pieces
    ]
    sizes = [len(range(*p.indices(X.shape[0]))) for p in pieces]
    unit = "rows" if blocks is None else "rows of whole blocks"
    described = f"{len(pieces)} pieces of {', '.join(map(str, sizes))} {unit}"
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
    assert_trees_close(
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
    lengths: Any = None,
) -> None:
    """``e_step(X, params, weights=w)`` equals ``e_step(np.repeat(X, w, axis=0), params)``.

    The weights are integers from 0 to 3 (at least one 0 and one 3), so an E-step that drops
    ``weights``, applies them to the log-likelihood only, or normalises them, is caught. For a
    model whose rows come in blocks ([`RowBlocks`][emkit.protocols.RowBlocks]) the weight is the
    same on every row of a block, and it must equal repeating the whole block.

    Parameters
    ----------
    model : LatentVariableModel
    X : array of shape (n_samples, n_features), at least 2 rows (blocks)
    params : parameters of ``model``
    rng : numpy Generator, optional
        Draws the weights (default: seed 0).
    lengths : int array-like of shape (n_blocks,), optional
        The blocks of ``X`` for a blocked model (default: the model's ``default_lengths``).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    blocks = model_lengths(model, X, lengths)
    units = X.shape[0] if blocks is None else blocks.shape[0]
    if units < 2:
        what = "rows of `X`" if blocks is None else "blocks in `lengths`"
        raise ValueError(f"check_sample_weight needs at least 2 {what}; got {units}")
    counts: Array = np.asarray(rng.integers(0, 4, size=units))
    counts[0], counts[-1] = 0, 3
    name = describe(model)
    if blocks is None:
        weights = counts.astype(np.float64)
        repeated_X, repeated_blocks = np.repeat(X, counts, axis=0), None
    else:
        weights = np.repeat(counts, blocks).astype(np.float64)
        starts = np.concatenate([[0], np.cumsum(blocks)[:-1]])
        rows = [
            np.arange(start, start + size)
            for start, size, count in zip(starts, blocks, counts, strict=True)
            for _ in range(count)
        ]
        repeated_X = X[np.concatenate(rows)]
        repeated_blocks = np.repeat(blocks, counts)
    weighted, ll_weighted = call_e_step(
        model, X, params, "X, params, weights=w", weights=weights, **_with_lengths(blocks)
    )
    repeated, ll_repeated = call_e_step(
        model, repeated_X, params, "repeated rows", **_with_lengths(repeated_blocks)
    )
    what = (
        f"{name}.e_step ignores or mis-applies `weights`: with integer row weights (0 to 3) it "
        "must give the statistics of the rows repeated that many times"
    )
    assert_trees_close(
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
    documented default is then to refuse (see
    [`emkit.protocols.Recenterable`][emkit.protocols.Recenterable])."""
    for path in reference_paths(stats, "stats"):
        owner = get_path(stats, path.rsplit(".", 1)[0])
        if not isinstance(owner, Recenterable | RecenterableComponents):
            return True
    return False


def runs_recenter_check(stats: Any) -> bool:
    """Whether the model checks run [`check_recenter`][emkit.testing.check_recenter] on these
    statistics.

    Parameters
    ----------
    stats : object
        Statistics of one E-step.

    Returns
    -------
    bool
        True when ``stats`` is [`Recenterable`][emkit.protocols.Recenterable] and every nested
        statistics that holds a reference field can move it.
    """
    return isinstance(stats, Recenterable) and not _can_refuse_recentering(stats)


def check_recenter(
    model: LatentVariableModel[Any, Any], X: Array, params: Any, lengths: Any = None
) -> None:
    """``stats.recenter(like)`` moves statistics to ``like``'s reference point exactly.

    With ``a = e_step(X, params)`` and ``b`` the statistics of the next EM iteration (another
    reference point): ``a.recenter(b)`` is of the same type, takes ``b``'s reference fields, can
    be added to ``b``, gives the same M-step as ``a``, and moving it back gives ``a``.

    Parameters
    ----------
    model : LatentVariableModel
        Its statistics have the method ``recenter(like)``
        ([`emkit.protocols.Recenterable`][emkit.protocols.Recenterable]).
    X : array of shape (n_samples, n_features)
    params : parameters of ``model``
    lengths : int array-like of shape (n_blocks,), optional
        The blocks of ``X`` for a blocked model.
    """
    name = describe(model)
    blocks = _with_lengths(model_lengths(model, X, lengths))
    first, _ = call_e_step(model, X, params, "X, params", **blocks)
    if not isinstance(first, Recenterable):
        raise AssertionError(
            f"the statistics {type(first).__name__} of {name}.e_step have no method "
            "recenter(like) (emkit.protocols.Recenterable)"
        )
    moved_params = call_plugin(f"{name}.m_step", model.m_step, first)
    second, _ = call_e_step(model, X, moved_params, "X, params of the next iteration", **blocks)
    method = f"{type(first).__name__}.recenter"
    inner = getattr(first, "components", None)
    if isinstance(inner, RecenterableComponents):
        method += f" (through {type(inner).__name__}.recenter(like, counts))"
    moved = call_plugin(f"{method}(like)", first.recenter, second)
    if type(moved) is not type(first):
        raise AssertionError(
            f"{method} must return {type(first).__name__}; got {type(moved).__name__}"
        )
    for path in reference_paths(second, "stats"):
        theirs, got = np.asarray(get_path(second, path)), np.asarray(get_path(moved, path))
        if theirs.shape != got.shape or not np.array_equal(theirs, got):
            raise AssertionError(
                f"{method}(like) must take the reference fields of `like`: `{path}` differs"
            )
    call_plugin(f"emkit.stats.add of {method}(like) and like", add, moved, second)
    assert_trees_close(
        call_plugin(f"{name}.m_step", model.m_step, moved),
        moved_params,
        RECENTER_RTOL,
        f"{name}.m_step of statistics moved by {method} differs from the M-step of the originals",
        root="params",
        labels=("moved", "original"),
        hint="; moving the reference point must change no sum the M-step uses",
    )
    back = call_plugin(f"{method}(like)", moved.recenter, first)
    assert_trees_close(
        back,
        first,
        RECENTER_RTOL,
        f"{method} there and back does not return the original statistics",
        labels=("moved there and back", "original"),
    )


def check_monotone_em(
    model: LatentVariableModel[Any, Any],
    X: Array,
    max_iter: int = 30,
    random_state: int = 0,
    lengths: Any = None,
) -> None:
    """EM from a random start never decreases ``log-likelihood + log-prior``.

    Parameters
    ----------
    model : LatentVariableModel
    X : array of shape (n_samples, n_features)
    max_iter : int, default 30
        EM iterations, all run (``tol=0``).
    random_state : int, default 0
    lengths : int array-like of shape (n_blocks,), optional
        The blocks of ``X`` for a blocked model.
    """
    with warnings.catch_warnings():
        # tol=0 runs all max_iter iterations on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = call_plugin(
            f"emkit.fit({describe(model)}, X, init='random')",
            fit,
            model,
            X,
            init="random",
            max_iter=max_iter,
            tol=0.0,
            random_state=random_state,
            lengths=lengths,
        )
    history = np.asarray(result.history)
    rtol = DECREASE_RTOL[np.dtype(np.float64)]
    allowed = rtol * (np.abs(history[:-1]) + result.n_samples)
    drops = history[:-1] - history[1:]
    if not (drops <= allowed).all():
        worst = int(np.argmax(np.where(np.isnan(drops), np.inf, drops)))
        raise AssertionError(
            f"EM on {describe(model)} decreased the objective (log-likelihood + log-prior) by "
            f"{float(drops[worst]):.3g} at iteration {worst + 1} (from {history[worst]!r} to "
            f"{history[worst + 1]!r}): the M-step is not the argmax of the expected "
            "complete-data log-likelihood, or log_prior does not match the prior the M-step uses"
        )


def check_missing_values(
    model: LatentVariableModel[Any, Any],
    X: Array,
    random_state: int = 0,
    lengths: Array | None = None,
) -> None:
    """The laws of [`check_model`][emkit.testing.check_model] on data with missing entries.

    Parameters
    ----------
    model : LatentVariableModel
        A model whose ``handles_missing`` is true.
    X : array of shape (n_samples, n_features)
        Complete data in the model's domain; a pattern of NaN is planted in a copy.
    random_state : int, default 0
    lengths : int array of shape (n_blocks,), optional
        The blocks of ``X`` for a blocked model.

    Raises
    ------
    AssertionError
        A law is broken with values missing (the message says so).
    """
    rng = np.random.default_rng(random_state)
    X_missing = with_missing(X, rng)
    try:
        call_plugin(f"{describe(model)}.validate_data(X with NaN)", model.validate_data, X_missing)
        params = checked_init(model, X_missing, rng)
        params, _ = checked_iteration(model, X_missing, params, lengths)
        check_additivity(model, X_missing, params, lengths=lengths)
        check_sample_weight(model, X_missing, params, lengths=lengths)
        check_monotone_em(model, X_missing, random_state=random_state, lengths=lengths)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc} [with {int(np.isnan(X_missing).sum())} of {X_missing.size} entries missing: "
            f"{describe(model)} handles missing values]"
        ) from None


def check_model(
    model: LatentVariableModel[Any, Any], X: Any, random_state: int = 0, lengths: Any = None
) -> None:
    """Contract checks for any latent-variable model.

    In order: the parameters of ``init_params`` and of one ``m_step`` are finite and pass
    ``validate_params``; ``e_step`` returns attrs statistics; additivity over a three-way row
    split (between blocks for a [`RowBlocks`][emkit.protocols.RowBlocks] model); integer sample
    weights equal repeated rows (repeated blocks); ``recenter`` (when the statistics have it);
    monotone EM from a random start; for a model that handles missing values, additivity,
    weights and monotone EM again with values missing
    ([`check_missing_values`][emkit.testing.check_missing_values]).

    Parameters
    ----------
    model : LatentVariableModel
    X : array-like of shape (n_samples, n_features)
        At least ``MIN_SPLIT_ROWS`` (6) rows in the model's domain.
    random_state : int, default 0
    lengths : int array-like of shape (n_blocks,), optional
        For a model whose rows come in blocks: the sizes of the sequences (groups) of ``X``,
        at least ``MIN_PIECES`` of them, so that the additivity check can cut between them.

    Raises
    ------
    AssertionError
        A law is broken; the message names the method and the field at fault.
    ValueError
        ``X`` has too few rows, or lies outside the model's domain.
    """
    X = model.validate_data(check_array(X))
    require_rows(X, "check_model")
    blocks = model_lengths(model, X, lengths)
    params = checked_init(model, X, np.random.default_rng(random_state))
    params, stats = checked_iteration(model, X, params, blocks)
    check_additivity(model, X, params, lengths=blocks)
    check_sample_weight(model, X, params, lengths=blocks)
    if runs_recenter_check(stats):
        check_recenter(model, X, params, lengths=blocks)
    check_monotone_em(model, X, random_state=random_state, lengths=blocks)
    if handles_missing(model):
        check_missing_values(model, X, random_state=random_state, lengths=blocks)
