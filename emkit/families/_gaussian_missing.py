"""Exact missing values (NaN) for the Gaussian family: rows grouped by missingness pattern.

A row's missing entries are latent variables, like its component (Ghahramani & Jordan 1994). For
a component with mean ``mu``, covariance ``Sigma`` and precision ``Lambda = Sigma^-1``, a row
observed on the coordinates ``o`` and missing on ``m`` has

* the marginal density ``N(x_o | mu_o, Sigma_oo)``, from which the E-step takes the
  responsibilities and the log-likelihood;
* the conditional distribution ``x_m | x_o ~ N(x_hat_m, C)`` with
  ``x_hat_m = mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o)`` and
  ``C = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om``, so that the expected sufficient statistics
  are ``E[x | x_o] = x_hat`` and ``E[x x^T | x_o] = x_hat x_hat^T + C`` (``C`` in the ``m, m``
  block, zero elsewhere), and the M-step is the complete-data one.

Everything comes from the ``m, m`` block of the precision, an ``|m| x |m|`` matrix (small when
few entries are missing; the observed block can be nearly the whole row). For any ``v`` that
agrees with ``x - mu`` on the observed coordinates, with ``r = (Lambda v)_m``:

    C = Lambda_mm^-1,
    x_hat_m - mu_m = v_m - C r,
    (x_o - mu_o)^T Sigma_oo^-1 (x_o - mu_o) = v^T Lambda v - r^T C r,
    log det Sigma_oo = log det Sigma + log det Lambda_mm,

by completing the square in ``v_m`` (equivalently, the Schur complement
``Sigma_oo^-1 = Lambda_oo - Lambda_om Lambda_mm^-1 Lambda_mo``). A row with every entry missing
has ``C = Sigma``, ``x_hat = mu`` and log-density 0.

Rows are sorted by pattern, and patterns by how many entries ``s`` they miss, so that every
group of patterns with one ``s`` is a slice of rows and each per-row step one array expression
over it. ``Lambda_mm`` is inverted once per pattern and component (tied covariance: once per
pattern) by Gauss-Jordan sweeps over all the patterns of nearby sizes at once, and cached on the
parameters for every chunk of the pass. Two routes then fill in ``v``:

* **expanded** (the complete-data kernel evaluates the chunk through its shared features): each
  missing entry is set to the kernel's shift ``g``, so ``v = u - a_k`` (``u = x - g`` with
  ``u_m = 0``, ``a_k = mu_k - g``) and the kernel's one product gives every component's
  ``v^T Lambda_k v``. ``r`` needs only the rows ``m`` of ``Lambda_k``: one product per feature
  over the rows missing it, about ``2 K D`` flops per missing entry. Then
  ``x_hat_m - g_m = -C r``; the statistics are the kernel's product over the complete rows,
  and for the others the moments of ``sqrt(r_nk) (x_hat_nk - g)`` (one symmetric rank update
  per component) plus ``C`` times each pattern's responsibility mass;
* **direct** (the kernel works around each component's own mean: a remote or collapsing
  component, or more than 64 features): ``v = x - mu`` with ``v_m = 0``, one product per
  component for ``Lambda v``, and the moments of ``x_hat`` around the kernel's reference point.

Diagonal and spherical covariances need no patterns: their conditionals are ``x_hat_m = mu_m``
and ``C = diag(var_m)``, the general formulas with ``Sigma_mo = 0``.

Engines. ``pattern_log_prob_with_stats`` and ``pattern_impute`` take a private
``engine="auto" | "numpy" | "numba"``. ``"numpy"`` is the sorted, vectorised pass above.
``"numba"`` runs the compiled kernels of ``emkit.families._gaussian_compiled`` (numba being the
optional ``fast`` extra), which need no sorting: they take the rows in their own order, number
the patterns with a hash table, and do each row's per-component steps (``r``, ``C r``,
``r^T C r``, the conditional means and their moments) in a compiled loop, with the factors cached
in one flat store per parameter value. On the expanded route the complete-data kernel still
evaluates the whole chunk with every missing entry at ``g``, so the compiled statistics are the
kernel's product over all rows plus each incomplete row's corrections ``w e`` and
``w (u e^T + e u^T + e e^T + C)`` (``u = x - g`` observed, 0 missing; ``e = x_hat_m - g_m``);
the direct route takes ``v^T Lambda_k v`` and the observed moments from one product per
component. ``"auto"`` (the default) uses numba when it can be imported and the chunk has at
most 64 features (a pattern is then one 64-bit mask), numpy otherwise. Both engines give the
same numbers to rounding (the tests hold them to 1e-12 relative in float64).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from types import ModuleType
from typing import Any, final

import attrs
import numpy as np

from emkit._backend import ENGINES, Array, compiled_kernels
from emkit.families._gaussian_kernels import GaussianKernel

__all__ = [
    "COMPILED_MAX_FEATURES",
    "ENGINES",
    "FACTOR_CACHE_NUMBERS",
    "PADDED_SWEEP_NUMBERS",
    "MissingPatterns",
    "PatternGroup",
    "diagonal_impute",
    "diagonal_log_prob_with_stats",
    "engine_in_use",
    "group_patterns",
    "pattern_impute",
    "pattern_log_prob_with_stats",
]

_LOG_2PI = float(np.log(2.0 * np.pi))

#: Most numbers (8 bytes each) the conditional covariances of one parameter value may keep
#: cached: 2**21 is 16 MiB, room for every pattern of 16 features at 10% missing for K = 8
#: (about 5,000 patterns of mostly 1-5 missing entries). Patterns beyond it are inverted again
#: in every chunk that holds them.
FACTOR_CACHE_NUMBERS = 2**21

#: Patterns of different sizes are swept together, padded to the largest size, while the padded
#: blocks hold at most this many numbers (128 KiB: a few dozen rare patterns, for which a sweep
#: costs its steps more than its arithmetic), or while the sizes differ by at most a third.
PADDED_SWEEP_NUMBERS = 2**14

#: The compiled engine keeps each row's missing columns as one 64-bit mask; wider chunks run on
#: the numpy engine (they take the direct route, and tell patterns apart by packed bytes).
COMPILED_MAX_FEATURES = 64

Pair = tuple[Array, Callable[[Array], tuple[Array, Array, Array]]]


# -- engines --------------------------------------------------------------------------------------
# The compiled kernels once imported, or the ImportError of the one attempt to import them.
_compiled: ModuleType | ImportError | None = None


def _kernels(engine: Any, n_features: int) -> ModuleType | None:
    """The compiled kernels for ``engine`` and a chunk of ``n_features``, or None for numpy."""
    global _compiled
    if n_features > COMPILED_MAX_FEATURES and engine in ENGINES:
        engine = "numpy"  # a row's missing columns must fit the kernels' 64-bit mask
    _compiled, kernels = compiled_kernels(engine, _compiled, "emkit.families._gaussian_compiled")
    return kernels


def engine_in_use(engine: str = "auto", n_features: int = 1) -> str:
    """The engine that ``engine`` resolves to for chunks of ``n_features``.

    Parameters
    ----------
    engine : str
        One of ``"auto"``, ``"numpy"``, ``"numba"``.
    n_features : int
        Columns of the data (above COMPILED_MAX_FEATURES the numpy engine runs).

    Returns
    -------
    str
        ``"numba"`` if the compiled kernels will run, else ``"numpy"``.

    Raises
    ------
    ValueError
        If ``engine`` is not one of ENGINES.
    ImportError
        If ``engine == "numba"`` and numba cannot be imported.
    """
    return "numpy" if _kernels(engine, n_features) is None else "numba"


# -- patterns -------------------------------------------------------------------------------------
@final
@attrs.frozen(eq=False)
class PatternGroup:
    """The rows (consecutive once sorted) whose patterns miss the same number of entries.

    Attributes
    ----------
    rows : slice
        The group's rows in the sorted order of ``MissingPatterns``.
    patterns : slice
        The group's patterns among all the chunk's patterns.
    cells : slice
        The group's missing entries among ``MissingPatterns.cells``: ``s`` runs of ``n_rows``,
        the first missing entry of every row, then the second, and so on (so that a
        (K, cells) array viewed as (K, s, n_rows) runs over rows contiguously).
    columns : int array of shape (n_patterns, n_missing)
        The missing columns of each pattern, ascending.
    row_pattern : int array of shape (n_rows,)
        Each row's pattern, counted within the group (ascending: rows are sorted by pattern).
    pattern_starts : int array of shape (n_patterns,)
        The first row of each pattern, counted within the group.
    """

    rows: slice
    patterns: slice
    cells: slice
    columns: Array
    row_pattern: Array
    pattern_starts: Array

    @property
    def n_missing(self) -> int:
        """Entries each row of the group misses."""
        return int(self.columns.shape[1])

    @property
    def n_rows(self) -> int:
        """Rows in the group."""
        return int(self.row_pattern.shape[0])


@final
@attrs.frozen(eq=False)
class MissingPatterns:
    """A chunk's rows sorted by missingness pattern.

    Attributes
    ----------
    order : int array of shape (n_samples,)
        The sorting permutation: sorted row ``i`` is row ``order[i]`` of the chunk.
    cells : int array of shape (n_cells,)
        The missing entries of the sorted rows as flat indices into an (n_samples, n_features)
        row-major array, group by group (within a group as ``PatternGroup.cells`` says).
    cell_columns : int array of shape (n_cells,)
        The column of each missing entry.
    cell_rows : int array of shape (n_cells,)
        The sorted row of each missing entry.
    row_pattern : int array of shape (n_samples,)
        Each sorted row's pattern; patterns are ordered by the number of entries they miss.
    n_missing : int array of shape (n_patterns,)
        Entries each pattern misses.
    keys : uint64 array of shape (n_patterns,), or None
        Each pattern's mask as one integer (up to 64 features), for the factor cache.
    groups : tuple of PatternGroup
        One group per number of missing entries ``s >= 1`` that occurs (complete rows have no
        group: they need no conditioning).
    """

    order: Array
    cells: Array
    cell_columns: Array
    cell_rows: Array
    row_pattern: Array
    n_missing: Array
    keys: Array | None
    groups: tuple[PatternGroup, ...]

    @property
    def first(self) -> int:
        """The first sorted row with a missing entry (the rows before it are complete)."""
        return self.groups[0].rows.start if self.groups else int(self.order.size)


def group_patterns(missing: Array) -> MissingPatterns:
    """Sort the rows of a chunk by missingness pattern.

    Up to 64 features a row's mask is one integer (its bits), so grouping is one sort of n
    numbers (by number missing, then mask) and no comparison of n x D booleans; wider rows are
    packed into bytes (``np.packbits``) and told apart by ``np.unique``.

    Parameters
    ----------
    missing : bool array of shape (n_samples, n_features)

    Returns
    -------
    patterns : MissingPatterns
    """
    n, d = missing.shape
    keys: Array | None = None
    if d <= 46:
        # The mask's bits and their count in one product: exact in float64 (below 2^52),
        # and count * 2^d + mask sorts by number missing, then mask.
        weights = np.stack([2.0 ** np.arange(d), np.ones(d)], axis=1)
        mask_and_count = missing.view(np.uint8) @ weights
        keys = mask_and_count[:, 0].astype(np.uint64)
        count = mask_and_count[:, 1].astype(np.intp)
        ident = mask_and_count[:, 1] * 2.0**d + mask_and_count[:, 0]
        order = np.argsort(ident)
    elif d <= 64:
        keys = missing @ (np.uint64(1) << np.arange(d, dtype=np.uint64))
        count = np.bitwise_count(keys)
        # Number missing in the top 7 bits when they are free: one sort instead of two (the
        # order of rows within a pattern does not matter).
        order = (
            np.argsort((count.astype(np.uint64) << np.uint64(57)) | keys)
            if d <= 57
            else np.lexsort((keys, count))
        )
        ident = keys
    else:
        count = missing.sum(axis=1)
        ident = np.unique(np.packbits(missing, axis=1), axis=0, return_inverse=True)[1].ravel()
        order = np.lexsort((ident, count))
    sorted_ident = ident[order]
    new_pattern = np.empty(n, dtype=bool)
    new_pattern[0] = True
    np.not_equal(sorted_ident[1:], sorted_ident[:-1], out=new_pattern[1:])
    pattern_starts = np.flatnonzero(new_pattern)
    row_pattern = np.cumsum(new_pattern) - 1
    first = order[pattern_starts]
    masks, counts = missing[first], np.asarray(count[first], dtype=np.intp)
    row_ends = np.append(pattern_starts[1:], n)
    groups = []
    sizes, group_starts = np.unique(counts, return_index=True)
    group_ends = np.append(group_starts[1:], counts.size)
    cell = 0
    cell_columns, cell_rows = [], []
    for s, p0, p1 in zip(sizes.tolist(), group_starts.tolist(), group_ends.tolist(), strict=True):
        if s == 0:
            continue
        rows = slice(int(pattern_starts[p0]), int(row_ends[p1 - 1]))
        n_rows = rows.stop - rows.start
        # nonzero() walks row-major, so each pattern's columns come out ascending.
        columns = np.nonzero(masks[p0:p1])[1].reshape(p1 - p0, s)
        local = row_pattern[rows] - p0
        groups.append(
            PatternGroup(
                rows=rows,
                patterns=slice(p0, p1),
                cells=slice(cell, cell + n_rows * s),
                columns=columns,
                row_pattern=local,
                pattern_starts=pattern_starts[p0:p1] - rows.start,
            )
        )
        cell_columns.append(columns[local].T.ravel())
        cell_rows.append(np.tile(np.arange(rows.start, rows.stop), s))
        cell += n_rows * s
    empty = np.zeros(0, dtype=np.intp)
    columns_of_cells = np.concatenate(cell_columns) if groups else empty
    rows_of_cells = np.concatenate(cell_rows) if groups else empty
    return MissingPatterns(
        order=order,
        cells=rows_of_cells * d + columns_of_cells,
        cell_columns=columns_of_cells,
        cell_rows=rows_of_cells,
        row_pattern=row_pattern,
        n_missing=counts,
        keys=None if keys is None else keys[first],
        groups=tuple(groups),
    )


# -- the conditional covariances of every pattern ------------------------------------------------
#
# Layout: a group's C of every component and pattern is (K', s, s, P), the patterns last, so
# that every per-row product below runs over long contiguous rows of numbers (numpy's cost per
# number is several times higher over a short trailing axis such as K or s).


def _invert(a: Array) -> tuple[Array, Array]:
    """``A^-1`` (K', s, s, P) and ``log det A`` (K', P) of a stack of symmetric
    positive-definite matrices (K', s, s, P); ``a`` is overwritten.

    Gauss-Jordan sweeps on the diagonal pivots (stable without pivoting for a positive-definite
    matrix, like Cholesky): ``s`` rank-one updates of all matrices at once. For the thousands
    of tiny matrices of a chunk's patterns that is several times faster than a batched LAPACK
    call, whose cost per matrix dominates. The pivots are the leading entries of the successive
    Schur complements, so their product is ``det A``; sweeping every pivot leaves ``-A^-1``.

    Raises
    ------
    ValueError
        If a pivot is not positive (a matrix is not numerically positive definite).
    """
    s = a.shape[1]
    pivots = np.empty((s, a.shape[0], a.shape[3]))
    # A zero pivot divides by zero on its way to the error below, which says what went wrong.
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(s):
            pivots[k] = a[:, k, k]
            row = a[:, k] / pivots[k][:, None, :]  # (K', s, P)
            a -= a[:, :, k, None, :] * row[:, None, :, :]
            a[:, :, k] = row
            a[:, k] = row
            a[:, k, k] = -1.0 / pivots[k]
    if not (pivots > 0.0).all():
        raise ValueError(
            "a block of a precision matrix is not positive definite (the covariance is "
            "numerically singular); increase `reg_covar`"
        )
    a *= -1.0
    if s > 1:
        # Rounding makes a_ij and a_ji differ in the last bit; C is symmetric.
        a = 0.5 * (a + np.swapaxes(a, 1, 2))
    return a, np.log(pivots).sum(axis=0)


def _factorise(precisions: Array, columns: list[Array]) -> list[tuple[Array, Array]]:
    """``C = Lambda_mm^-1`` (K', s, s, P) and ``log det Lambda_mm`` (K', P) of the patterns
    missing ``columns[i]`` (P_i, s_i) each; ``precisions`` (K', D, D).

    Patterns of nearby sizes are inverted in one sweep, each block padded with the identity to
    the largest size (the inverse and determinant of ``diag(A, I)`` are those of ``A``): most
    patterns a chunk adds to the cache are rare ones, a few dozen of each size, for which a
    sweep costs its number of steps more than its arithmetic. Sizes are merged while the
    largest is at most a third above the smallest, or while the padded blocks stay within
    PADDED_SWEEP_NUMBERS.
    """
    k = precisions.shape[0]
    order = sorted(range(len(columns)), key=lambda i: columns[i].shape[1])
    batches: list[list[int]] = []
    for i in order:
        if batches:
            batch = batches[-1]
            smallest = columns[batch[0]].shape[1]
            size = columns[i].shape[1]
            padded = (sum(columns[j].shape[0] for j in batch) + columns[i].shape[0]) * k * size**2
            if 3 * size <= 4 * smallest or padded <= PADDED_SWEEP_NUMBERS:
                batch.append(i)
                continue
        batches.append([i])
    results: dict[int, tuple[Array, Array]] = {}
    for batch in batches:
        size = max(columns[i].shape[1] for i in batch)
        block = np.zeros((k, size, size, sum(columns[i].shape[0] for i in batch)))
        block[:, np.arange(size), np.arange(size)] = 1.0
        start = 0
        for i in batch:
            (count, s), cols = columns[i].shape, columns[i].T
            # (K', s, s, P): each pattern's block, gathered with the patterns last.
            block[:, :s, :s, start : start + count] = precisions[:, cols[:, None], cols[None]]
            start += count
        inverse, log_det = _invert(block)
        start = 0
        for i in batch:
            count, s = columns[i].shape
            part = slice(start, start + count)
            results[i] = (np.ascontiguousarray(inverse[:, :s, :s, part]), log_det[:, part])
            start += count
    return [results[i] for i in range(len(columns))]


@final
@attrs.frozen(eq=False)
class _FactorTable:
    """A snapshot of the factors cached for one parameter value.

    ``stores`` maps a number of missing entries ``s`` to arrays shared by successive snapshots,
    ``(covariances (K', s, s, capacity), log_dets (K', capacity))``: columns below the size a
    snapshot knows never change, later snapshots append after them (or move to larger arrays),
    so a reader holding a snapshot is never disturbed by a writer.
    """

    keys: Array  # (P,) uint64 pattern masks, ascending
    slots: Array  # (P,) each key's place in the store of its size
    sizes: dict[int, int]  # places filled in each store
    stores: dict[int, tuple[Array, Array]]

    def held(self) -> int:
        """Numbers the stores hold."""
        return sum(self.stores[s][0][..., 0].size * size for s, size in self.sizes.items())


_EMPTY_TABLE = _FactorTable(np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.intp), {}, {})

# Factors cached per parameter value (frozen, so they stay valid while it lives): the chunks of
# one pass share most of their patterns.
_CACHE_LOCK = threading.Lock()
_CACHE: weakref.WeakKeyDictionary[Any, _FactorTable] = weakref.WeakKeyDictionary()


def _cached_table(owner: Any) -> _FactorTable | None:
    """The owner's snapshot (empty at first); ``None`` when it cannot be cached on."""
    with _CACHE_LOCK:
        try:
            return _CACHE.get(owner, _EMPTY_TABLE)
        except TypeError:  # an owner that cannot be weakly referenced: no cache
            return None


def _lookup(table: _FactorTable | _PackedTable, keys: Array) -> tuple[Array, Array]:
    """Which ``keys`` the table holds, and their places in the stores."""
    if table.keys.size == 0:
        return np.zeros(keys.shape, dtype=bool), np.zeros(keys.shape, dtype=np.intp)
    at = np.minimum(np.searchsorted(table.keys, keys), table.keys.size - 1)
    return table.keys[at] == keys, table.slots[at]


def _remember(owner: Any, new: dict[int, tuple[Array, Array, Array]]) -> None:
    """Add factors, ``{s: (keys, covariances, log_dets)}``, to the owner's table (bounded by
    FACTOR_CACHE_NUMBERS; a size that does not fit is left out)."""
    with _CACHE_LOCK:
        table = _CACHE.get(owner, _EMPTY_TABLE)
        held = table.held()
        sizes, stores = dict(table.sizes), dict(table.stores)
        all_keys, all_slots = [table.keys], [table.slots]
        for s, (keys, covariances, log_dets) in new.items():
            present, _ = _lookup(table, keys)  # another thread may have added some meanwhile
            keys = keys[~present]
            covariances, log_dets = covariances[..., ~present], log_dets[:, ~present]
            if keys.size == 0 or held + covariances.size > FACTOR_CACHE_NUMBERS:
                continue
            held += covariances.size
            size = sizes.get(s, 0)
            needed = size + keys.size
            store, store_log = stores.get(s, (covariances[..., :0], log_dets[:, :0]))
            if needed > store.shape[-1]:
                capacity = max(2 * store.shape[-1], needed)
                grown = np.empty((*covariances.shape[:-1], capacity))
                grown_log = np.empty((log_dets.shape[0], capacity))
                grown[..., :size], grown_log[:, :size] = store[..., :size], store_log[:, :size]
                store, store_log = grown, grown_log
            store[..., size:needed], store_log[:, size:needed] = covariances, log_dets
            sizes[s], stores[s] = needed, (store, store_log)
            all_keys.append(keys)
            all_slots.append(np.arange(size, needed))
        keys_joined, slots_joined = np.concatenate(all_keys), np.concatenate(all_slots)
        by_key = np.argsort(keys_joined)
        _CACHE[owner] = _FactorTable(keys_joined[by_key], slots_joined[by_key], sizes, stores)


@final
@attrs.frozen(eq=False)
class _Conditionals:
    """The per-pattern conditional covariances and log-determinants of one chunk."""

    covariances: tuple[Array, ...]  # per group: (K', s, s, P_s), C = Lambda_mm^-1
    log_det_mm: Array  # (n_patterns, K'): log det Lambda_mm (0 for complete rows)
    precisions: Array  # (K', D, D) float64
    half_log_det: Array  # (K',) -log det Sigma / 2

    def constants(self, patterns: MissingPatterns, n_features: int) -> Array:
        """``-(|o| log 2pi + log det Sigma_oo) / 2`` of every pattern and component (P, K').

        ``log det Sigma_oo = log det Sigma + log det Lambda_mm``; a row with nothing observed
        has no density to speak of (log-density 0), which rounding of that sum would miss by
        about 1e-15.
        """
        n_observed = n_features - patterns.n_missing
        constants = (
            -0.5 * n_observed[:, None] * _LOG_2PI + self.half_log_det - 0.5 * self.log_det_mm
        )
        constants[n_observed == 0] = 0.0
        return np.asarray(constants)


def _conditionals(
    precisions_cholesky: Array, patterns: MissingPatterns, owner: Any
) -> _Conditionals:
    """``C = Lambda_mm^-1`` and ``log det Lambda_mm`` of every pattern and component, from
    ``U`` (K', D, D) with ``U U^T = Lambda`` (K' = K full, 1 tied); from the cache on ``owner``
    where known, the others inverted together and added to it."""
    U = precisions_cholesky
    precisions = U @ np.swapaxes(U, -1, -2)
    half_log_det = np.log(np.diagonal(U, axis1=-2, axis2=-1)).sum(axis=-1)
    groups, keys = patterns.groups, patterns.keys
    table = None if keys is None or owner is None else _cached_table(owner)
    # Which patterns the cache holds: one look-up for all of them.
    found = [np.zeros(g.columns.shape[0], dtype=bool) for g in groups]
    slots = [np.zeros(g.columns.shape[0], dtype=np.intp) for g in groups]
    if table is not None and keys is not None and groups:
        offset = groups[0].patterns.start
        found_all, slots_all = _lookup(table, keys[offset:])
        for i, g in enumerate(groups):
            part = slice(g.patterns.start - offset, g.patterns.stop - offset)
            found[i], slots[i] = found_all[part], slots_all[part]
    todo = [i for i, f in enumerate(found) if not f.all()]
    inverted = _factorise(precisions, [groups[i].columns[~found[i]] for i in todo]) if todo else []
    fresh = dict(zip(todo, inverted, strict=True))
    updated = table
    if table is not None and keys is not None and fresh:
        new = {groups[i].n_missing: (keys[groups[i].patterns][~found[i]], *fresh[i]) for i in todo}
        _remember(owner, new)
        updated = _cached_table(owner)
    log_det_mm = np.zeros((patterns.n_missing.size, precisions.shape[0]))
    covariances = []
    for i, group in enumerate(groups):
        s = group.n_missing
        if i in fresh and updated is not None and keys is not None:
            # Added to the table (unless it had no room): every pattern from it at once. Places
            # known before stay valid: a store only grows.
            now_found, now_slots = _lookup(updated, keys[group.patterns])
            if now_found.all():
                found[i], slots[i], table = now_found, now_slots, updated
                del fresh[i]
        if i not in fresh:
            assert table is not None
            store, store_log = table.stores[s]
            cov, log_det = np.take(store, slots[i], axis=3), np.take(store_log, slots[i], axis=1)
        else:
            new_cov, new_log_det = fresh[i]
            cov = np.empty((*new_cov.shape[:3], found[i].size))
            log_det = np.empty((new_log_det.shape[0], found[i].size))
            cov[..., ~found[i]], log_det[:, ~found[i]] = new_cov, new_log_det
            if found[i].any():
                assert table is not None
                store, store_log = table.stores[s]
                cov[..., found[i]] = np.take(store, slots[i][found[i]], axis=3)
                log_det[:, found[i]] = np.take(store_log, slots[i][found[i]], axis=1)
        log_det_mm[group.patterns] = log_det.T
        covariances.append(cov)
    return _Conditionals(tuple(covariances), log_det_mm, precisions, half_log_det)


@final
@attrs.frozen(eq=False)
class _PatternEntries:
    """The entries of the conditional covariances of a chunk's incomplete patterns, flat."""

    values: Array  # (K', n_entries): C_p[i, j] of every component, entry and pattern
    pattern: Array  # (n_entries,) p, counted from the first incomplete pattern
    position: Array  # (n_entries,) m_i * D + m_j, its place in a (D, D) matrix


def _pattern_entries(
    patterns: MissingPatterns, covariances: tuple[Array, ...], n_features: int
) -> _PatternEntries:
    values, pattern, position = [], [], []
    offset = patterns.groups[0].patterns.start if patterns.groups else 0
    for group, cov in zip(patterns.groups, covariances, strict=True):
        cols = group.columns.T  # (s, P_s)
        s = group.n_missing
        # (K', s, s, P_s) flattened: the entry (i, j) of every pattern, patterns fastest.
        values.append(cov.reshape(cov.shape[0], -1))
        pattern.append(
            np.tile(np.arange(group.patterns.start, group.patterns.stop) - offset, s * s)
        )
        position.append((cols[:, None] * n_features + cols[None]).ravel())
    if not values:
        empty = np.zeros(0, dtype=np.intp)
        return _PatternEntries(np.zeros((1, 0)), empty, empty)
    return _PatternEntries(
        np.concatenate(values, axis=1), np.concatenate(pattern), np.concatenate(position)
    )


def _scatter_entries(
    entries: _PatternEntries, mass: Array, n_components: int, n_features: int
) -> Array:
    """``sum_p mass[p, k] C_kp`` placed in the missing blocks: (K, D, D). ``mass`` (P, K'),
    K' = 1 (tied) summed into component 0's slot."""
    d2 = n_features * n_features
    weighted = entries.values * mass.T[:, entries.pattern]  # (K', n_entries)
    total = np.zeros((n_components, d2))
    for k in range(weighted.shape[0]):
        total[k] = np.bincount(entries.position, weights=weighted[k], minlength=d2)
    return total.reshape(n_components, n_features, n_features)


def _pattern_starts(patterns: MissingPatterns) -> Array:
    """The first row of every incomplete pattern, counted from the first incomplete row."""
    first = patterns.first
    return np.concatenate(
        [g.pattern_starts + (g.rows.start - first) for g in patterns.groups]
        or [np.zeros(0, dtype=np.intp)]
    )


def _slices(n_rows: int, per_row: int, budget: int) -> list[slice]:
    """Row slices whose temporaries of ``per_row`` numbers a row stay within ``budget``."""
    step = max(1, budget // max(per_row, 1))
    return [slice(start, start + step) for start in range(0, n_rows, step)]


def _unsort(values: Array, order: Array) -> Array:
    # C order: the mixture's responsibilities are made in place from these rows, and the
    # statistics gather them back by row.
    out = np.empty(values.shape, dtype=values.dtype)
    out[order] = values
    return out


def _conditional_products(
    cov: Array, row_pattern: Array, r: Array, out: Array, quad: Array | None, limit: int
) -> None:
    """``out = C r`` row by row, and ``quad = r^T C r`` if asked, for one group of rows.

    ``cov`` (K', s, s, P) is the C of the group's patterns, ``row_pattern`` (n,) each row's,
    ``r`` and ``out`` (B, s, n) per component of a batch (K' = 1 broadcasts; else K' = B),
    ``quad`` (B, n). Each row's C is gathered, and every operation runs over the n rows,
    contiguous, in slices of rows whose temporaries hold at most ``limit`` numbers.
    """
    s = r.shape[1]
    for part in _slices(r.shape[2], cov.shape[0] * s * s, limit):
        rows_cov = np.take(cov, row_pattern[part], axis=3)  # (K', s, s, rows)
        np.multiply(rows_cov[:, :, 0], r[:, None, 0, part], out=out[:, :, part])
        for j in range(1, s):
            out[:, :, part] += rows_cov[:, :, j] * r[:, None, j, part]
    if quad is not None:
        np.multiply(r[:, 0], out[:, 0], out=quad)
        for i in range(1, s):
            quad += r[:, i] * out[:, i]


# -- full and tied covariance -------------------------------------------------------------------
def pattern_log_prob_with_stats(
    X: Array,
    missing: Array,
    means: Array,
    precisions_cholesky: Array,
    kernel: GaussianKernel,
    *,
    budget: int,
    owner: Any = None,
    engine: str = "auto",
) -> Pair:
    """Observed-data log-densities and conditional moments, full or tied covariance.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        With NaN where missing (float32 or float64).
    missing : bool array of shape (n_samples, n_features)
        ``np.isnan(X)``.
    means : array of shape (n_components, n_features)
    precisions_cholesky : array of shape (n_components, n_features, n_features), or (1, D, D)
        for tied covariance: ``U`` with ``U U^T = Sigma^-1``.
    kernel : GaussianKernel
        The complete-data kernel of these parameters for X's dtype. Its route decides this
        one's (see the module docstring), and the moments are taken around its reference
        point, so that chunks with and without NaN of one pass add up.
    budget : int
        Numbers per row the temporaries may take (the complete-data features' size).
    owner : object, optional
        The parameter value the factors of each pattern are cached on (weakly), so that the
        chunks of one pass invert each pattern's block once; ``None``: no cache.
    engine : str
        ``"auto"``, ``"numpy"`` or ``"numba"`` (see the module docstring); the answer does not
        depend on it (up to rounding).

    Returns
    -------
    log_prob : array of shape (n_samples, n_components), in X's dtype
        ``log N(x_o | mu_k,o, Sigma_k,oo)``.
    stats_of : callable
        ``stats_of(resp)`` -> ``(center, sum_x, sum_xx)``, float64: ``sum_n r_nk (x_hat_nk - c_k)``
        (K, D) and ``sum_n r_nk [(x_hat_nk - c_k)(x_hat_nk - c_k)^T + C_nk]`` ((K, D, D), or
        its sum over k (1, D, D) when tied).

    Raises
    ------
    ValueError
        If ``engine`` is not one of ENGINES, or a block of a precision matrix is not positive
        definite.
    ImportError
        If ``engine == "numba"`` and numba cannot be imported.
    """
    kernels = _kernels(engine, X.shape[1])
    if kernels is not None:
        if kernel.quadratic:
            return _compiled_expanded(kernels, X, means, precisions_cholesky, kernel, owner)
        return _compiled_direct(
            kernels, X, missing, means, precisions_cholesky, kernel.reference_point(), owner
        )
    if kernel.quadratic:
        return _expanded(X, missing, means, precisions_cholesky, kernel, budget, owner)
    center = kernel.reference_point()
    return _direct(X, missing, means, precisions_cholesky, center, budget, owner)


def _expanded(
    X: Array,
    missing: Array,
    means: Array,
    precisions_cholesky: Array,
    kernel: GaussianKernel,
    budget: int,
    owner: Any,
) -> Pair:
    dtype = X.dtype
    n, d = X.shape
    n_components = means.shape[0]
    limit = budget * n
    tied = kernel.covariance_type == "tied"
    patterns = group_patterns(missing)
    conditionals = _conditionals(precisions_cholesky, patterns, owner)
    which = np.zeros(n_components, dtype=np.intp) if tied else np.arange(n_components)
    # Everything runs on the rows sorted by pattern (complete rows first, then each group),
    # so that a group's rows are one slice. The complete-data kernel evaluates them with every
    # missing entry at its shift g (u_m = 0 exactly).
    g = kernel.shift.astype(dtype)
    filled = np.ascontiguousarray(X[patterns.order])  # C order: written through reshape
    filled.reshape(-1)[patterns.cells] = g[patterns.cell_columns]
    F = kernel.features(filled)
    log_p = kernel.log_prob(filled, F)
    first = patterns.first
    u = filled[first:] - g  # the rows with a missing entry, shifted
    cell_rows = patterns.cell_rows - first  # each missing entry's row of u
    # r = (Lambda_k (u - a_k))_m of every component and missing entry (K, n_cells): one
    # product per feature over the rows missing it.
    precisions = conditionals.precisions.astype(dtype)
    lam_a = np.einsum("kde,ke->kd", conditionals.precisions[which], means - kernel.shift)
    lam_a = lam_a.astype(dtype)
    by_column = np.argsort(patterns.cell_columns.astype(np.uint16), kind="stable")
    rows_by_column = cell_rows[by_column]
    ends = np.cumsum(np.bincount(patterns.cell_columns, minlength=d)).tolist()
    r = np.empty((n_components, patterns.cells.size), dtype=dtype)
    for m, (start, stop) in enumerate(zip([0, *ends[:-1]], ends, strict=True)):
        if stop > start:
            rows_u = u[rows_by_column[start:stop]]
            if tied:
                r[:, by_column[start:stop]] = (rows_u @ precisions[0, m]) - lam_a[:, m, None]
            else:
                r[:, by_column[start:stop]] = precisions[:, m, :] @ rows_u.T - lam_a[:, m, None]
    # C r, and the log-density of the observed entries: the kernel's -Q_k/2 plus r^T C r / 2,
    # and (s log 2pi - log det Lambda_mm) / 2 more than the kernel's constant.
    extra = 0.5 * (patterns.n_missing[:, None] * _LOG_2PI - conditionals.log_det_mm)
    log_p[first:] += extra.astype(dtype)[patterns.row_pattern[first:]]
    correction = np.empty_like(r)
    for group, cov in zip(patterns.groups, conditionals.covariances, strict=True):
        s, n_rows = group.n_missing, group.n_rows
        r_g = r[:, group.cells].reshape(n_components, s, n_rows)
        c_g = correction[:, group.cells].reshape(n_components, s, n_rows)
        quad = np.empty((n_components, n_rows), dtype=dtype) if s < d else None
        cov_x = cov.astype(dtype, copy=False)
        _conditional_products(cov_x, group.row_pattern, r_g, c_g, quad, limit)
        log_p_g = log_p[group.rows]
        if quad is None:
            log_p_g[...] = 0.0  # nothing observed: log-density 0, exactly
        else:
            quad *= 0.5
            log_p_g += quad.T
    # Only the complete rows' features are needed from here on: keep a copy of those (in the
    # features' column order) and let the rest go before the statistics' temporaries come.
    complete_features = F[:first].copy(order="F")
    del r, F
    entries = _pattern_entries(patterns, conditionals.covariances, d)
    pattern_starts = _pattern_starts(patterns)

    def stats_of(resp: Array) -> tuple[Array, Array, Array]:
        R = np.asarray(resp)[patterns.order].astype(dtype, copy=False)
        # The complete rows (the first ones) through the kernel's one product.
        center, sum_x, sum_xx = kernel.stats(filled[:first], complete_features, R[:first])
        # The other rows with each component's conditional mean filled in, x_hat - g = u on
        # the observed entries and e = -C r on the missing ones: their moments around g.
        roots = np.sqrt(R[first:].T)  # (K, n_u)
        cells = patterns.cells - first * d
        scatter = np.zeros((n_components, d, d))
        v = np.empty_like(u)
        for k in range(n_components):
            # sqrt(r) (x_hat - g) of every row, one component at a time (so that it stays in
            # cache): the first moments are sqrt(r) . that, the second its A^T A (a symmetric
            # rank-n update).
            root = roots[k]
            np.multiply(u, root[:, None], out=v)
            v.reshape(-1)[cells] = -correction[k] * root[cell_rows]
            sum_x[k] += root.astype(np.float64, copy=False) @ v.astype(np.float64, copy=False)
            scatter[k] = v.T @ v
        # Plus C, once per pattern times its responsibility mass, in its missing block.
        if patterns.groups:
            mass = np.add.reduceat(R[first:].astype(np.float64, copy=False), pattern_starts)
            if tied:
                mass = mass.sum(axis=1, keepdims=True)
            scatter += _scatter_entries(entries, mass, n_components, d)
        if tied:
            return center, sum_x, np.asarray(sum_xx + scatter.sum(axis=0, keepdims=True))
        return center, sum_x, np.asarray(sum_xx + scatter)

    return _unsort(log_p, patterns.order), stats_of


# -- the direct route: every component around its own reference -----------------------------------
@final
@attrs.frozen(eq=False)
class _Chunk:
    """What every component's pass over a chunk shares on the direct route."""

    patterns: MissingPatterns
    filled: Array  # (n, D) the sorted rows with 0 for every missing entry, X's dtype
    precisions: Array  # (K', D, D) in X's dtype
    conditionals: _Conditionals
    covariances: list[Array]  # per group: C of its patterns (K', s, s, P_s), X's dtype
    budget: int  # numbers per row the temporaries may take

    @property
    def batch(self) -> int:
        """Components evaluated side by side: each holds two (n, D) arrays."""
        return max(1, self.budget // (2 * int(self.filled.shape[1])))


def _prepare(
    X: Array, missing: Array, precisions_cholesky: Array, owner: Any, budget: int
) -> _Chunk:
    patterns = group_patterns(missing)
    conditionals = _conditionals(precisions_cholesky, patterns, owner)
    covariances = [cov.astype(X.dtype, copy=False) for cov in conditionals.covariances]
    filled = np.ascontiguousarray(X[patterns.order])  # C order: written through reshape
    filled.reshape(-1)[patterns.cells] = 0.0
    precisions = conditionals.precisions.astype(X.dtype)
    return _Chunk(patterns, filled, precisions, conditionals, covariances, budget)


def _batches(n_components: int, size: int) -> list[slice]:
    return [slice(k, min(k + size, n_components)) for k in range(0, n_components, size)]


def _deviations(chunk: _Chunk, means: Array, which: Array) -> tuple[Array, Array, Array]:
    """``x_hat - mu`` of every sorted row, its observed quadratic form and the corrections
    ``C h_m`` of its missing entries (``h = Lambda v``, ``v = x - mu`` with ``v_m = 0``), for a
    batch of B components.

    ``means`` (B, D) in the data's dtype, ``which`` (B,) their covariances (0 when tied).
    Returns arrays of shapes (B, n, D), (B, n) and (B, n_cells).
    """
    patterns = chunk.patterns
    cells = patterns.cells
    b = means.shape[0]
    dev = np.subtract(chunk.filled, means[:, None, :], order="C")
    flat = dev.reshape(b, -1)
    flat[:, cells] = 0.0
    h = dev @ chunk.precisions[which]
    quad = np.einsum("bnd,bnd->bn", dev, h)
    h_m = h.reshape(b, -1)[:, cells]
    shift = np.empty_like(h_m)
    limit = chunk.budget * chunk.filled.shape[0]
    tied = chunk.precisions.shape[0] == 1
    for group, cov in zip(patterns.groups, chunk.covariances, strict=True):
        s, n_rows = group.n_missing, group.n_rows
        h_g = h_m[:, group.cells].reshape(b, s, n_rows)
        shift_g = shift[:, group.cells].reshape(b, s, n_rows)
        correction = np.empty((b, n_rows), dtype=quad.dtype)
        cov_b = cov if tied else cov[which]
        _conditional_products(cov_b, group.row_pattern, h_g, shift_g, correction, limit)
        quad[:, group.rows] -= correction
    flat[:, cells] = -shift  # x_hat_m - mu_m = v_m - C h_m with v_m = 0
    # The difference of two quadratic forms can round below 0 when the observed coordinates
    # pin the missing ones down tightly; the true value is >= 0.
    np.maximum(quad, 0.0, out=quad)
    return dev, quad, shift


def _direct(
    X: Array,
    missing: Array,
    means: Array,
    precisions_cholesky: Array,
    center: Array,
    budget: int,
    owner: Any,
) -> Pair:
    dtype = X.dtype
    n_components, n_features = means.shape
    tied = precisions_cholesky.shape[0] == 1 and n_components > 1
    chunk = _prepare(X, missing, precisions_cholesky, owner, budget)
    patterns = chunk.patterns
    which = np.zeros(n_components, dtype=np.intp) if tied else np.arange(n_components)
    mu = means.astype(dtype)
    batches = _batches(n_components, chunk.batch)
    # Keep every component's corrections while they fit the budget; else compute them again.
    keep = n_components * patterns.cells.size <= budget * X.shape[0]
    stored: list[Array] = []
    log_p = np.empty((X.shape[0], n_components), dtype=dtype)
    constants = chunk.conditionals.constants(patterns, n_features).astype(dtype)
    row_constants = constants[patterns.row_pattern][:, which]
    for part in batches:
        _, quad, shift = _deviations(chunk, mu[part], which[part])
        if keep:
            stored.append(shift)
        quad *= -0.5
        quad += row_constants[:, part].T
        log_p[:, part] = quad.T
    log_prob = _unsort(log_p, patterns.order)
    center = np.asarray(center, dtype=np.float64)
    centers = np.broadcast_to(center, (n_components, n_features))
    entries = _pattern_entries(patterns, chunk.conditionals.covariances, n_features)
    pattern_starts = _pattern_starts(patterns)

    def stats_of(resp: Array) -> tuple[Array, Array, Array]:
        rs = np.asarray(resp)[patterns.order].astype(dtype, copy=False)
        sum_x = np.empty((n_components, n_features))
        scatter = np.empty((n_components, n_features, n_features))
        for index, part in enumerate(batches):
            shift = stored[index] if keep else _deviations(chunk, mu[part], which[part])[2]
            # x_hat - c: the observed entries x - c (as in the complete-data statistics), the
            # missing ones (mu - c) - C h_m.
            c = centers[part]
            moved = (means[part] - c).astype(dtype)
            v = np.subtract(chunk.filled, c.astype(dtype)[:, None, :], order="C")
            v.reshape(v.shape[0], -1)[:, patterns.cells] = moved[:, patterns.cell_columns] - shift
            r = rs[:, part].T  # (B, n)
            first = r.astype(np.float64)[:, None, :] @ v.astype(np.float64, copy=False)
            sum_x[part] = first[:, 0]
            v *= np.sqrt(r)[:, :, None]
            scatter[part] = np.swapaxes(v, 1, 2) @ v
        # The conditional covariances, weighted by each pattern's responsibility mass.
        if patterns.groups:
            incomplete = rs[patterns.first :].astype(np.float64, copy=False)
            mass = np.add.reduceat(incomplete, pattern_starts)
            if tied:
                mass = mass.sum(axis=1, keepdims=True)
            scatter += _scatter_entries(entries, mass, n_components, n_features)
        sum_xx = scatter.sum(axis=0, keepdims=True) if tied else scatter
        return center, sum_x, sum_xx

    return log_prob, stats_of


def pattern_impute(
    X: Array,
    missing: Array,
    resp: Array,
    means: Array,
    precisions_cholesky: Array,
    *,
    budget: int,
    owner: Any = None,
    engine: str = "auto",
) -> Array:
    """``X`` with each missing entry replaced by ``sum_k r_nk x_hat_nk`` (full or tied).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    missing : bool array of shape (n_samples, n_features)
    resp : array of shape (n_samples, n_components)
    means : array of shape (n_components, n_features)
    precisions_cholesky : array of shape (n_components, D, D) or (1, D, D)
    budget : int
        Numbers per row the temporaries may take.
    owner : object, optional
        The parameter value the factors are cached on.
    engine : str
        ``"auto"``, ``"numpy"`` or ``"numba"`` (see the module docstring).

    Returns
    -------
    X_imputed : array of shape (n_samples, n_features), X's dtype
    """
    kernels = _kernels(engine, X.shape[1])
    if kernels is not None:
        return _compiled_impute(kernels, X, resp, means, precisions_cholesky, owner)
    dtype = X.dtype
    n_components = means.shape[0]
    chunk = _prepare(X, missing, precisions_cholesky, owner, budget)
    patterns = chunk.patterns
    tied = precisions_cholesky.shape[0] == 1 and n_components > 1
    which = np.zeros(n_components, dtype=np.intp) if tied else np.arange(n_components)
    # Each missing entry's responsibilities (its row in the sorted order).
    rs = np.asarray(resp, dtype=np.float64)[patterns.order][patterns.cell_rows]
    filled = np.zeros(patterns.cells.size)
    for part in _batches(n_components, chunk.batch):
        _, _, shift = _deviations(chunk, means[part].astype(dtype), which[part])
        # x_hat_m = mu_m - C h_m, weighted by the row's responsibility.
        value = means[part][:, patterns.cell_columns] - shift.astype(np.float64)
        filled += np.einsum("cb,bc->c", rs[:, part], value)
    values = np.zeros(X.shape)
    values.reshape(-1)[patterns.cells] = filled
    out = np.array(X, copy=True)
    out[missing] = _unsort(values, patterns.order)[missing].astype(dtype)
    return out


# -- the compiled engine --------------------------------------------------------------------------
@final
@attrs.frozen(eq=False)
class _PackedTable:
    """A snapshot of the factors cached for one parameter value, for the compiled engine.

    ``values`` holds one block per pattern (``log det Lambda_mm`` and ``C`` of every component,
    laid out as the factor store of ``emkit.families._gaussian_compiled``), at ``slots``
    (aligned with the sorted ``keys``); blocks below ``used`` never change, later snapshots
    append after them (or move to a larger array), so a reader holding a snapshot is never
    disturbed by a writer.
    """

    keys: Array  # (P,) uint64 pattern masks, ascending
    slots: Array  # (P,) int64 each key's block start in values
    values: Array  # (capacity,) float64
    used: int


_EMPTY_PACKED = _PackedTable(
    np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), np.zeros(0), 0
)
_PACKED_CACHE: weakref.WeakKeyDictionary[Any, _PackedTable] = weakref.WeakKeyDictionary()


def _packed_table(owner: Any) -> _PackedTable | None:
    """The owner's snapshot (empty at first); ``None`` when it cannot be cached on."""
    if owner is None:
        return None
    with _CACHE_LOCK:
        try:
            return _PACKED_CACHE.get(owner, _EMPTY_PACKED)
        except TypeError:  # an owner that cannot be weakly referenced: no cache
            return None


def _remember_packed(owner: Any, keys: Array, values: Array, offsets: Array) -> None:
    """Add a chunk's new blocks to the owner's table, all or none (bounded by
    FACTOR_CACHE_NUMBERS; when another thread added some of the same patterns meanwhile, a
    later chunk adds them)."""
    with _CACHE_LOCK:
        table = _PACKED_CACHE.get(owner, _EMPTY_PACKED)
        present, _ = _lookup(table, keys)
        needed = table.used + values.size
        if present.any() or needed > FACTOR_CACHE_NUMBERS:
            return
        store = table.values
        if needed > store.size:
            # Grown by doubling (few copies), never beyond the bound.
            store = np.empty(min(max(2 * store.size, 2 * needed), FACTOR_CACHE_NUMBERS))
            store[: table.used] = table.values[: table.used]
        store[table.used : needed] = values
        # Merged into the sorted keys: one pass, where a sort of them all costs more per chunk.
        by_key = np.argsort(keys)
        at = np.searchsorted(table.keys, keys[by_key])
        all_keys = np.insert(table.keys, at, keys[by_key])
        all_slots = np.insert(table.slots, at, offsets[by_key] + table.used)
        _PACKED_CACHE[owner] = _PackedTable(all_keys, all_slots, store, needed)


@final
@attrs.frozen(eq=False)
class _Rows:
    """A chunk as the compiled kernels read it: rows in their own order, patterns numbered.

    The kernels' per-component arrays with a ``_t`` have the component last, so that the
    inner loops over the components run over contiguous numbers.
    """

    filled: Array  # (n, D) C order, X's dtype: missing entries at the fill value
    keys: Array  # (n,) uint64 each row's mask of missing columns
    cell_start: Array  # (n + 1,) each row's first missing entry among the chunk's
    row_pattern: Array  # (n,) each row's pattern, -1 for a complete row
    visit: Array  # the incomplete rows, in the order the kernels take them
    offsets: Array  # (P,) each pattern's block: >= 0 in cached, -o - 1 in local
    cached: Array  # the owner's store
    local: Array  # the blocks of the patterns the owner's store lacked
    precisions: Array  # (K', D, D) float64

    @property
    def n_cells(self) -> int:
        """Missing entries in the chunk."""
        return int(self.cell_start[-1])

    def factor_args(self) -> tuple[Array, Array, Array, Array, Array, Array, Array]:
        """The arguments every row kernel takes after ``filled``."""
        return (
            self.keys,
            self.cell_start,
            self.row_pattern,
            self.visit,
            self.offsets,
            self.cached,
            self.local,
        )


def _scan(
    kernels: ModuleType, X: Array, fill: Array, precisions_cholesky: Array, owner: Any
) -> _Rows:
    """Fill, mask and number the patterns of a chunk, and find or make their factors."""
    n = X.shape[0]
    source = np.ascontiguousarray(X)
    filled = np.empty_like(source)
    keys = np.empty(n, dtype=np.uint64)
    counts = np.empty(n, dtype=np.int64)
    kernels.scan_rows(source, fill.astype(X.dtype), filled, keys, counts)
    cell_start = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=cell_start[1:])
    row_pattern, pattern_keys = kernels.distinct_patterns(keys)
    U = precisions_cholesky
    precisions = np.ascontiguousarray(U @ np.swapaxes(U, -1, -2), dtype=np.float64)
    table = _packed_table(owner)
    cached = _EMPTY_PACKED if table is None else table
    found, slots = _lookup(cached, pattern_keys)
    new_keys = pattern_keys[~found]
    local, local_offsets, bad = kernels.factorise(precisions, new_keys)
    if bad >= 0:
        raise ValueError(
            "a block of a precision matrix is not positive definite (the covariance is "
            "numerically singular); increase `reg_covar`"
        )
    offsets = np.empty(pattern_keys.size, dtype=np.int64)
    offsets[found] = slots[found]
    offsets[~found] = -1 - local_offsets
    if table is not None and new_keys.size:
        _remember_packed(owner, new_keys, local, local_offsets)
    visit = np.flatnonzero(row_pattern >= 0)
    return _Rows(
        filled, keys, cell_start, row_pattern, visit, offsets, cached.values, local, precisions
    )


def _compiled_expanded(
    kernels: ModuleType,
    X: Array,
    means: Array,
    precisions_cholesky: Array,
    kernel: GaussianKernel,
    owner: Any,
) -> Pair:
    dtype = X.dtype
    n_components, d = means.shape
    g = kernel.shift.astype(dtype)
    rows = _scan(kernels, X, g, precisions_cholesky, owner)
    # The complete-data kernel on every row with its missing entries at g (u_m = 0 exactly).
    F = kernel.features(rows.filled)
    log_p = kernel.log_prob(rows.filled, F)
    shifts = g[None, :]
    # Lambda_k a_k with a_k = mu_k - g, component last (D, K).
    lam_a_t = np.einsum("kdf,kf->dk", rows.precisions, means - kernel.shift)
    if lam_a_t.shape[1] != n_components:  # tied: one precision for every component
        lam_a_t = (means - kernel.shift) @ rows.precisions[0]
        lam_a_t = lam_a_t.T
    e = np.empty((rows.n_cells, n_components))
    kernels.condition_rows(
        rows.filled,
        *rows.factor_args(),
        rows.precisions,
        shifts,
        np.ascontiguousarray(lam_a_t),
        np.zeros((d, n_components)),
        np.zeros(n_components),
        np.zeros((0, 0), dtype=dtype),
        log_p,
        e,
        False,
    )

    def stats_of(resp: Array) -> tuple[Array, Array, Array]:
        # The kernel's one product over every filled row (u u^T with u_m = 0), then each
        # incomplete row's corrections for its conditional means and covariances.
        R = np.asarray(resp)
        center, sum_x, sum_xx = kernel.stats(rows.filled, F, R.astype(dtype, copy=False))
        extra_x, correction = _corrections(kernels, rows, shifts, e, R, sum_xx.shape[0])
        return center, sum_x + extra_x, sum_xx + correction

    return np.asarray(log_p), stats_of


def _corrections(
    kernels: ModuleType, rows: _Rows, shifts: Array, e: Array, resp: Array, n_kinds: int
) -> tuple[Array, Array]:
    """What the conditional means and covariances add to the first (K, D) and second
    (K', D, D) moments of the rows taken with their missing entries out."""
    d = rows.filled.shape[1]
    n_components = resp.shape[1]
    extra_x = np.zeros((d, n_components))
    cross = np.zeros((n_kinds, d, d))
    block = np.zeros((d, d, n_kinds))
    kernels.moment_corrections(
        rows.filled,
        *rows.factor_args(),
        shifts,
        e,
        np.ascontiguousarray(resp, dtype=np.float64),
        extra_x,
        cross,
        block,
    )
    correction = cross + np.swapaxes(cross, 1, 2) + np.transpose(block, (2, 0, 1))
    return extra_x.T, correction


def _compiled_direct(
    kernels: ModuleType,
    X: Array,
    missing: Array,
    means: Array,
    precisions_cholesky: Array,
    center: Array,
    owner: Any,
) -> Pair:
    dtype = X.dtype
    n_components, d = means.shape
    rows = _scan(kernels, X, np.zeros(d), precisions_cholesky, owner)
    filled = rows.filled
    n_kinds = rows.precisions.shape[0]
    which = np.zeros(n_components, dtype=np.intp) if n_kinds == 1 else np.arange(n_components)
    # v^T Lambda_k v of v = x - mu_k with v_m = 0, around each component's own mean: one
    # product by the precision factor per component.
    mu = means.astype(dtype)
    factors = precisions_cholesky.astype(dtype)
    quad = np.empty((X.shape[0], n_components), dtype=dtype)
    v = np.empty_like(filled)
    for k in range(n_components):
        np.subtract(filled, mu[k], out=v)
        np.copyto(v, 0.0, where=missing)
        y = v @ factors[which[k]]
        quad[:, k] = np.einsum("nd,nd->n", y, y)
    half_log_det = np.log(np.diagonal(precisions_cholesky, axis1=-2, axis2=-1)).sum(axis=-1)
    constant = (-0.5 * d * _LOG_2PI + half_log_det)[which]
    log_p = -0.5 * quad + constant.astype(dtype)
    center = np.asarray(np.broadcast_to(center, (n_components, d)), dtype=np.float64)
    e = np.empty((rows.n_cells, n_components))
    kernels.condition_rows(
        filled,
        *rows.factor_args(),
        rows.precisions,
        mu,
        np.zeros((d, n_components)),
        np.ascontiguousarray((means - center).T),
        constant,
        quad,
        log_p,
        e,
        True,
    )
    del quad
    shifts = center.astype(dtype)

    def stats_of(resp: Array) -> tuple[Array, Array, Array]:
        R = np.asarray(resp)
        r = R.astype(dtype, copy=False)
        sum_x = np.empty((n_components, d))
        scatter = np.empty((n_components, d, d))
        w = np.empty_like(filled)
        for k in range(n_components):
            # The observed entries around the center (x - c, as the complete-data statistics
            # take them); the missing ones come as corrections.
            np.subtract(filled, shifts[k], out=w)
            np.copyto(w, 0.0, where=missing)
            sum_x[k] = r[:, k].astype(np.float64) @ w.astype(np.float64, copy=False)
            w *= np.sqrt(r[:, k])[:, None]
            scatter[k] = w.T @ w
        if n_kinds == 1:
            scatter = scatter.sum(axis=0, keepdims=True)
        extra_x, correction = _corrections(kernels, rows, shifts, e, R, n_kinds)
        return center, sum_x + extra_x, scatter + correction

    return np.asarray(log_p), stats_of


def _compiled_impute(
    kernels: ModuleType,
    X: Array,
    resp: Array,
    means: Array,
    precisions_cholesky: Array,
    owner: Any,
) -> Array:
    rows = _scan(kernels, X, np.zeros(X.shape[1]), precisions_cholesky, owner)
    kernels.impute_rows(
        rows.filled,
        rows.keys,
        rows.row_pattern,
        rows.visit,
        rows.offsets,
        rows.cached,
        rows.local,
        rows.precisions,
        np.ascontiguousarray(means, dtype=X.dtype),
        np.ascontiguousarray(np.asarray(means, dtype=np.float64).T),
        np.ascontiguousarray(resp, dtype=np.float64),
    )
    return rows.filled


# -- diagonal and spherical covariance -----------------------------------------------------------
def diagonal_log_prob_with_stats(
    X: Array, missing: Array, means: Array, variances: Array, kernel: GaussianKernel
) -> tuple[Array, Callable[[Array], tuple[Array, Array, Array]]]:
    """Observed-data log-densities and conditional moments, diagonal or spherical covariance.

    With independent coordinates the missing ones integrate out of the density and their
    conditionals are the component's own: ``x_hat_m = mu_m``, ``C = diag(var_m)`` (the general
    formulas with ``Sigma_mo = 0``). No patterns are needed: a missing entry's contribution to
    the statistics is its responsibility mass times ``mu_k`` and ``mu_k^2 + var_k``.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        With NaN where missing.
    missing : bool array of shape (n_samples, n_features)
        ``np.isnan(X)``.
    means : array of shape (n_components, n_features)
    variances : array of shape (n_components, n_features) (diag) or (n_components,) (spherical)
    kernel : GaussianKernel
        The complete-data kernel of these parameters for X's dtype.

    Returns
    -------
    log_prob : array of shape (n_samples, n_components), X's dtype
    stats_of : callable
        ``stats_of(resp)`` -> ``(center, sum_x, sum_xx)``, float64, around the kernel's
        reference point, with ``sum_xx`` (K, D) for diag and (K,) for spherical.
    """
    dtype = X.dtype
    n_components, d = means.shape
    diag = kernel.covariance_type == "diag"
    var = variances if diag else np.broadcast_to(variances[:, None], (n_components, d))
    observed = (~missing).astype(dtype)
    missing_mass = missing.astype(np.float64)
    # Each observed coordinate's density: -(log 2pi + log var_kd + (x_d - mu_kd)^2 / var_kd) / 2.
    base = -0.5 * (_LOG_2PI + np.log(var))

    def reduce(sum_xx: Array) -> Array:
        return sum_xx if diag else np.asarray(sum_xx.sum(axis=1))

    if kernel.quadratic:
        # Around the kernel's shift g: (x - mu)^2 / var = u^2 / var - 2 a u / var + a^2 / var
        # with u = x - g and a = mu - g. With every missing entry set to g (u_m = 0 exactly),
        # the u-terms are the kernel's one product over the features, and the constants are
        # summed over the observed coordinates only: one more thin product.
        a = means - kernel.shift
        constants = (base - 0.5 * a**2 / var).astype(dtype)
        filled = np.where(missing, kernel.shift.astype(dtype), X)
        F = kernel.features(filled)
        log_prob = kernel.feature_terms(F) + observed @ constants.T

        def stats_of(resp: Array) -> tuple[Array, Array, Array]:
            center, sum_x, sum_xx = kernel.stats(filled, F, resp)
            mass = np.asarray(resp, dtype=np.float64).T @ missing_mass
            return center, sum_x + mass * a, sum_xx + reduce(mass * (a**2 + var))

        return np.asarray(log_prob), stats_of

    # A remote or collapsing component (the kernel's fallback): one component at a time,
    # around its own mean, as the complete-data kernel then does.
    means_x = means.astype(dtype)
    scale = (1.0 / np.sqrt(var)).astype(dtype)
    log_p = observed @ base.astype(dtype).T
    for k in range(n_components):
        z = np.subtract(X, means_x[k])
        np.copyto(z, 0.0, where=missing)
        z *= scale[k]
        log_p[:, k] -= 0.5 * np.einsum("nd,nd->n", z, z)

    def stats_around_means(resp: Array) -> tuple[Array, Array, Array]:
        r = np.asarray(resp, dtype=np.float64)
        mass = r.T @ missing_mass
        sum_x = np.empty((n_components, d))
        sum_xx = np.empty((n_components, d))
        for k in range(n_components):
            dev = np.subtract(X, means_x[k]).astype(np.float64)
            np.copyto(dev, 0.0, where=missing)
            sum_x[k] = r[:, k] @ dev
            sum_xx[k] = r[:, k] @ dev**2 + mass[k] * var[k]
        return np.asarray(kernel.centers, dtype=np.float64), sum_x, reduce(sum_xx)

    return np.asarray(log_p), stats_around_means


def diagonal_impute(X: Array, missing: Array, resp: Array, means: Array) -> Array:
    """``X`` with each missing entry replaced by ``sum_k r_nk mu_k`` (diag or spherical).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    missing : bool array of shape (n_samples, n_features)
    resp : array of shape (n_samples, n_components)
    means : array of shape (n_components, n_features)

    Returns
    -------
    X_imputed : array of shape (n_samples, n_features), X's dtype
    """
    expected = np.asarray(resp, dtype=np.float64) @ means
    return np.where(missing, expected.astype(X.dtype), X)
