"""Compiled (numba) kernels of the Gaussian missing-value E-step, one row at a time.

This module imports numba at import time; ``emkit.families._gaussian_missing`` imports it
lazily and only when the compiled engine is asked for (numba is the optional ``fast`` extra).
The numpy engine there sorts the rows by missingness pattern so that every per-row step is one
array expression over a slice of rows, and pays numpy's per-call cost on many short passes;
these kernels take the incomplete rows in their own order instead (the list ``visit``), with
the same formulas (see that module's docstring):

* ``scan_rows`` copies a chunk with its missing entries set to a fill value and records each
  row's missing columns as one 64-bit mask (so at most 64 features) and their number;
* ``distinct_patterns`` numbers the distinct masks with a hash table (no sort of the rows);
* ``factorise`` inverts ``Lambda_mm`` of every new pattern and component by the same
  Gauss-Jordan sweeps on the diagonal pivots as the numpy engine;
* ``condition_rows`` gives each incomplete row, for every component, ``r = (Lambda v)_m``,
  ``c = C r`` and ``r^T C r``: the log-density of the observed entries and the conditional
  means of the missing ones, about ``K s (D + s)`` operations a row (``s`` entries missing);
* ``moment_corrections`` adds what the conditional means and covariances bring to the moments
  of the rows that the caller took with every missing entry left out: with ``x_hat - c = u +
  e`` (``u`` the observed part, ``e`` the conditional mean of the missing part, both around the
  center ``c``) the extra first moments are ``w e`` and the extra second moments
  ``w (u e^T + e u^T + e e^T + C)``, about ``K s D`` operations a row;
* ``impute_rows`` fills each missing entry with ``sum_k r_nk x_hat_nk``.

Every product and sum is taken in float64 (a float32 chunk is read as float32 and its shifted
entries ``x - c`` rounded to float32, as the complete-data kernel rounds them). Errors are not
raised inside the kernels: ``factorise`` returns the index of a pattern whose block is not
positive definite and the caller raises.

Factor store. One flat float64 array holds a block per pattern: ``log det Lambda_mm`` of each of
the K' components (K' = 1 tied, K full), then the ``s x s`` entries of ``C = Lambda_mm^-1``
row-major, each entry's K' components side by side (so that the per-row steps run over the
components, contiguous). A pattern's block starts at ``offsets[p]``: a non-negative offset
points into the store cached on the parameters (``cached``), a negative one ``-o - 1`` into the
chunk's own (``local``), so that a chunk reads the cached factors in place.
"""

from __future__ import annotations

import math

import numba  # type: ignore[import-untyped,import-not-found,unused-ignore]
import numpy as np

from emkit._backend import Array

__all__ = [
    "condition_rows",
    "distinct_patterns",
    "factorise",
    "impute_rows",
    "moment_corrections",
    "scan_rows",
]

LOG_2PI = math.log(2.0 * math.pi)

# Fibonacci hashing: the top bits of key * 2^64 / golden ratio spread nearby masks apart.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)

# Reassociation and fused multiply-adds let the products over a row's features run as vector
# instructions (3x faster); they change the rounding of a sum, never its value beyond it. No
# finite-math assumption: NaN and infinity keep their meaning.
_FAST = {"reassoc", "contract", "nsz", "arcp"}
_jit = numba.njit(cache=True, nogil=True, fastmath=_FAST)
_inline = numba.njit(cache=True, nogil=True, fastmath=_FAST, inline="always")
# Exact IEEE arithmetic where nothing is to be gained: the scan (NaN tests) and the sweeps.
_plain = numba.njit(cache=True, nogil=True)


@_inline
def _columns(key: np.uint64, n_features: int, out: Array) -> int:
    """The set bits of ``key`` (the missing columns, ascending) into ``out``; their number."""
    s = 0
    for j in range(n_features):
        # Without branches (which columns are missing is unpredictable).
        out[s] = j
        s += int((key >> np.uint64(j)) & np.uint64(1))
    return s


@_inline
def _shifted(filled: Array, row: int, cols: Array, s: int, shifts: Array, out: Array) -> None:
    """``out[k] = x - shifts[k]`` on the row's observed entries (rounded to the data's dtype,
    as the complete-data kernel's features are), 0 on its ``s`` missing ones ``cols``."""
    for ks in range(shifts.shape[0]):
        for f in range(out.shape[1]):
            out[ks, f] = filled[row, f] - shifts[ks, f]
        for j in range(s):
            out[ks, cols[j]] = 0.0


@_inline
def _store(offset: int, cached: Array, local: Array) -> Array:
    """The store holding a pattern's block."""
    return cached if offset >= 0 else local


@_inline
def _start(offset: int) -> int:
    """The start of a pattern's block in its store."""
    return offset if offset >= 0 else -offset - 1


@_plain
def scan_rows(X: Array, fill: Array, filled: Array, keys: Array, counts: Array) -> None:
    """``filled = X`` with each NaN replaced by ``fill`` of its column; ``keys`` each row's
    mask of NaN (bit ``j`` for column ``j``, at most 64 columns) and ``counts`` their number.

    Parameters
    ----------
    X : array of shape (n_samples, n_features), C order
    fill : array of shape (n_features,), X's dtype
    filled : array of shape (n_samples, n_features), X's dtype (written)
    keys : uint64 array of shape (n_samples,) (written)
    counts : int64 array of shape (n_samples,) (written)
    """
    n, d = X.shape
    for i in range(n):
        key = np.uint64(0)
        count = 0
        for j in range(d):
            # Without branches (a missing entry is unpredictable): 2.4x faster.
            x = X[i, j]
            nan = x != x
            key |= np.uint64(nan) << np.uint64(j)
            count += nan
            filled[i, j] = fill[j] if nan else x
        keys[i] = key
        counts[i] = count


@_plain
def distinct_patterns(keys: Array) -> tuple[Array, Array]:
    """Number the distinct nonzero masks in order of first appearance.

    Parameters
    ----------
    keys : uint64 array of shape (n_samples,)

    Returns
    -------
    row_pattern : int64 array of shape (n_samples,)
        Each row's pattern, -1 for a complete row (mask 0).
    pattern_keys : uint64 array of shape (n_patterns,)
        The mask of each pattern.
    """
    n = keys.size
    bits = 1
    while (1 << bits) < 2 * n:
        bits += 1
    size = 1 << bits
    slot_keys = np.zeros(size, dtype=np.uint64)
    slot_ids = np.full(size, -1, dtype=np.int64)
    row_pattern = np.empty(n, dtype=np.int64)
    pattern_keys = np.empty(n, dtype=np.uint64)
    drop = np.uint64(64 - bits)
    n_patterns = 0
    for i in range(n):
        key = keys[i]
        if key == np.uint64(0):
            row_pattern[i] = -1
            continue
        h = np.int64((key * _GOLDEN) >> drop)
        while True:
            if slot_ids[h] < 0:
                slot_keys[h] = key
                slot_ids[h] = n_patterns
                pattern_keys[n_patterns] = key
                row_pattern[i] = n_patterns
                n_patterns += 1
                break
            if slot_keys[h] == key:
                row_pattern[i] = slot_ids[h]
                break
            h = (h + 1) & (size - 1)
    return row_pattern, pattern_keys[:n_patterns].copy()


@_plain
def factorise(precisions: Array, pattern_keys: Array) -> tuple[Array, Array, int]:
    """``C = Lambda_mm^-1`` and ``log det Lambda_mm`` of every pattern and component.

    Gauss-Jordan sweeps on the diagonal pivots, as the numpy engine's (stable without pivoting
    for a positive-definite block); the pivots are the leading entries of the successive Schur
    complements, so their logarithms sum to ``log det Lambda_mm``, and sweeping every pivot
    leaves ``-Lambda_mm^-1``, symmetrised.

    Parameters
    ----------
    precisions : float64 array of shape (K', n_features, n_features)
    pattern_keys : uint64 array of shape (n_patterns,)
        Each pattern's mask of missing columns.

    Returns
    -------
    values : float64 array
        One block per pattern: ``log det`` of each component (K'), then the ``s x s`` entries
        of ``C`` row-major, each entry's K' components side by side.
    offsets : int64 array of shape (n_patterns,)
        Each pattern's block start in ``values``.
    bad : int
        The first pattern with a pivot that is not positive, or -1.
    """
    n_kinds, d = precisions.shape[0], precisions.shape[1]
    n_patterns = pattern_keys.size
    cols = np.empty(d, dtype=np.int64)
    offsets = np.empty(n_patterns, dtype=np.int64)
    total = 0
    for p in range(n_patterns):
        s = _columns(pattern_keys[p], d, cols)
        offsets[p] = total
        total += n_kinds * (1 + s * s)
    values = np.empty(total)
    # The sweeps of every component side by side (component last), as the store keeps them.
    a = np.empty((d, d, n_kinds))
    row = np.empty((d, n_kinds))
    factor = np.empty(n_kinds)
    pivot = np.empty(n_kinds)
    for p in range(n_patterns):
        s = _columns(pattern_keys[p], d, cols)
        start = offsets[p]
        for i in range(s):
            for j in range(s):
                for k in range(n_kinds):
                    a[i, j, k] = precisions[k, cols[i], cols[j]]
        for k in range(n_kinds):
            values[start + k] = 0.0
        for q in range(s):
            for k in range(n_kinds):
                pivot[k] = a[q, q, k]
                if not pivot[k] > 0.0:
                    return values, offsets, p
                values[start + k] += math.log(pivot[k])
            for j in range(s):
                for k in range(n_kinds):
                    row[j, k] = a[q, j, k] / pivot[k]
            for i in range(s):
                for k in range(n_kinds):
                    factor[k] = a[i, q, k]
                for j in range(s):
                    for k in range(n_kinds):
                        a[i, j, k] -= factor[k] * row[j, k]
            for i in range(s):
                for k in range(n_kinds):
                    a[i, q, k] = row[i, k]
                    a[q, i, k] = row[i, k]
            for k in range(n_kinds):
                a[q, q, k] = -1.0 / pivot[k]
        block = start + n_kinds
        for i in range(s):
            for j in range(s):
                at = block + (i * s + j) * n_kinds
                for k in range(n_kinds):
                    # Rounding makes a_ij and a_ji differ in the last bit; C is symmetric.
                    values[at + k] = -0.5 * (a[i, j, k] + a[j, i, k]) if s > 1 else -a[i, j, k]
    return values, offsets, -1


@_jit
def condition_rows(
    filled: Array,
    keys: Array,
    cell_start: Array,
    row_pattern: Array,
    visit: Array,
    offsets: Array,
    cached: Array,
    local: Array,
    precisions: Array,
    shifts: Array,
    lam_a_t: Array,
    base_t: Array,
    constant: Array,
    quad_full: Array,
    log_p: Array,
    e_out: Array,
    direct: bool,
) -> None:
    """Observed-data log-densities and conditional means of every incomplete row.

    For row n and component k, with ``u`` the row minus ``shifts[k]`` on its observed entries
    and 0 on its missing ones ``m`` (``s`` of them), ``r = Lambda_k[m, :] u - lam_a_t[m, k]``,
    ``c = C r`` and ``x_hat_m - center_m = base_t[m, k] - c`` (into ``e_out``). The expanded
    route (``direct`` false: one shift, the kernel's ``g``; ``lam_a = Lambda_k a_k``) adds
    ``r^T C r / 2`` and ``(s log 2pi - log det Lambda_mm) / 2`` to the complete-data kernel's
    log-density in ``log_p``; the direct route (shifts the means, ``lam_a = 0``) sets it to
    ``-max(Q - r^T C r, 0) / 2 + constant_k + (s log 2pi - log det Lambda_mm) / 2`` from
    ``Q = v^T Lambda_k v`` in ``quad_full``. A row with nothing observed gets 0.

    The products ``Lambda_k[m_j, :] u`` run over the contiguous rows of the precision; every
    other step over the components (arrays with the component last).

    Parameters
    ----------
    filled : array of shape (n_samples, n_features)
        The chunk, missing entries at any value (they are masked by ``keys``).
    keys, cell_start, row_pattern : arrays of shapes (n,), (n + 1,), (n,)
        Each row's mask, the start of its missing entries in ``e_out``, its pattern.
    offsets, cached, local : arrays
        The factor store (module docstring).
    precisions : float64 array of shape (K', D, D)
        ``Lambda`` (K' = 1: tied).
    shifts : array of shape (1, D) or (K, D), filled's dtype
    lam_a_t, base_t : float64 arrays of shape (D, K)
    constant : float64 array of shape (K,)
        Used by the direct route only.
    quad_full : array of shape (n_samples, K), or (0, 0) on the expanded route
    log_p : array of shape (n_samples, K) (updated)
    e_out : float64 array of shape (n_cells, K) (written)
    direct : bool
    """
    d = filled.shape[1]
    n_components = log_p.shape[1]
    n_kinds = precisions.shape[0]
    n_shifts = shifts.shape[0]
    cols = np.empty(d, dtype=np.int64)
    u = np.empty((n_shifts, d))
    r = np.empty((d, n_components))
    c = np.empty((d, n_components))
    quad = np.empty(n_components)
    for i in visit:
        p = row_pattern[i]
        s = _columns(keys[i], d, cols)
        store = _store(offsets[p], cached, local)
        start = _start(offsets[p])
        block = start + n_kinds
        _shifted(filled, i, cols, s, shifts, u)
        for j in range(s):
            m = cols[j]
            if n_shifts == 1 and n_kinds == 1:
                # Tied, one shift: one product serves every component.
                acc = 0.0
                for f in range(d):
                    acc += precisions[0, m, f] * u[0, f]
                for k in range(n_components):
                    r[j, k] = acc
            else:
                for k in range(n_components):
                    kk = 0 if n_kinds == 1 else k
                    ks = 0 if n_shifts == 1 else k
                    acc = 0.0
                    for f in range(d):
                        acc += precisions[kk, m, f] * u[ks, f]
                    r[j, k] = acc
            for k in range(n_components):
                r[j, k] -= lam_a_t[m, k]
        # c = C r and r^T C r, the entries of C with their components side by side.
        for k in range(n_components):
            quad[k] = 0.0
        for a in range(s):
            for k in range(n_components):
                c[a, k] = 0.0
            for b in range(s):
                at = block + (a * s + b) * n_kinds
                if n_kinds == 1:
                    value = store[at]
                    for k in range(n_components):
                        c[a, k] += value * r[b, k]
                else:
                    for k in range(n_components):
                        c[a, k] += store[at + k] * r[b, k]
            for k in range(n_components):
                quad[k] += r[a, k] * c[a, k]
        if s == d:
            for k in range(n_components):
                log_p[i, k] = 0.0  # nothing observed: log-density 0, exactly
        else:
            for k in range(n_components):
                extra = 0.5 * (s * LOG_2PI - store[start + (0 if n_kinds == 1 else k)])
                if direct:
                    # The difference of two quadratic forms can round below 0 when the
                    # observed coordinates pin the missing ones down tightly; it is >= 0.
                    q = max(quad_full[i, k] - quad[k], 0.0)
                    log_p[i, k] = -0.5 * q + constant[k] + extra
                else:
                    log_p[i, k] += 0.5 * quad[k] + extra
        cell = cell_start[i]
        for j in range(s):
            m = cols[j]
            for k in range(n_components):
                e_out[cell + j, k] = base_t[m, k] - c[j, k]


@_jit
def moment_corrections(
    filled: Array,
    keys: Array,
    cell_start: Array,
    row_pattern: Array,
    visit: Array,
    offsets: Array,
    cached: Array,
    local: Array,
    shifts: Array,
    e: Array,
    resp: Array,
    sum_x_t: Array,
    cross: Array,
    block_t: Array,
) -> None:
    """What the conditional means and covariances add to the moments of the filled rows.

    With ``u`` each row minus ``shifts[k]`` on its observed entries (0 on the missing ones) and
    ``e`` its conditional means around the center (``condition_rows``), in the missing rows
    ``m``, with ``w = resp[n, k]``: ``sum_x[k] += w e``, ``cross[k'] += w e u^T`` and
    ``block[k'] += w (e e^T + C)`` (``C`` once per pattern, times the sum of its rows' ``w``);
    the second-moment correction is ``cross + cross^T + block``. Tied (K' = 1) pools every
    component.

    Parameters
    ----------
    filled, keys, cell_start, row_pattern, offsets, cached, local : arrays
        As for ``condition_rows``.
    shifts : array of shape (1, D) or (K, D), filled's dtype
        The centers of the moments.
    e : float64 array of shape (n_cells, K)
    resp : float64 array of shape (n_samples, K)
    sum_x_t : float64 array of shape (D, K) (updated)
        The first moments, component last.
    cross : float64 array of shape (K', D, D) (updated)
    block_t : float64 array of shape (D, D, K') (updated)
        The missing blocks, component last.
    """
    d = filled.shape[1]
    n_components = resp.shape[1]
    n_kinds = cross.shape[0]
    n_shifts = shifts.shape[0]
    cols = np.empty(d, dtype=np.int64)
    u = np.empty((n_shifts, d))
    we = np.empty((d, n_components))
    # C enters once per pattern, times the pattern's responsibility mass.
    mass = np.zeros((offsets.size, n_components))
    example = np.full(offsets.size, -1, dtype=np.int64)
    for i in visit:
        p = row_pattern[i]
        example[p] = i
        s = _columns(keys[i], d, cols)
        cell = cell_start[i]
        for k in range(n_components):
            mass[p, k] += resp[i, k]
        _shifted(filled, i, cols, s, shifts, u)
        for j in range(s):
            m = cols[j]
            for k in range(n_components):
                we[j, k] = resp[i, k] * e[cell + j, k]
                sum_x_t[m, k] += we[j, k]
            if n_kinds == 1 and n_shifts == 1:
                # Tied, one shift: every component's cross term in one update.
                coef = 0.0
                for k in range(n_components):
                    coef += we[j, k]
                target = cross[0, m]
                for f in range(d):
                    target[f] += coef * u[0, f]
            else:
                for k in range(n_components):
                    target = cross[0 if n_kinds == 1 else k, m]
                    coef = we[j, k]
                    ks = 0 if n_shifts == 1 else k
                    for f in range(d):
                        target[f] += coef * u[ks, f]
        for a in range(s):
            ma = cols[a]
            for b in range(s):
                mb = cols[b]
                if n_kinds == 1:
                    acc = 0.0
                    for k in range(n_components):
                        acc += we[a, k] * e[cell + b, k]
                    block_t[ma, mb, 0] += acc
                else:
                    for k in range(n_components):
                        block_t[ma, mb, k] += we[a, k] * e[cell + b, k]
    for p in range(offsets.size):
        if example[p] < 0:
            continue
        s = _columns(keys[example[p]], d, cols)
        store = _store(offsets[p], cached, local)
        block = _start(offsets[p]) + n_kinds
        if n_kinds == 1:
            total = 0.0
            for k in range(n_components):
                total += mass[p, k]
            for k in range(n_components):
                mass[p, k] = total
        for a in range(s):
            for b in range(s):
                at = block + (a * s + b) * n_kinds
                for k in range(n_kinds):
                    block_t[cols[a], cols[b], k] += mass[p, k] * store[at + k]


@_jit
def impute_rows(
    filled: Array,
    keys: Array,
    row_pattern: Array,
    visit: Array,
    offsets: Array,
    cached: Array,
    local: Array,
    precisions: Array,
    means_x: Array,
    means_t: Array,
    resp: Array,
) -> None:
    """Each missing entry of ``filled`` set to ``sum_k resp[n, k] x_hat_nk``, in place.

    ``x_hat_m = mu_m - C h_m`` with ``h = Lambda_k v`` and ``v = x - mu_k`` on the observed
    entries (0 on the missing ones): around each component's own mean.

    Parameters
    ----------
    filled, keys, row_pattern, offsets, cached, local : arrays
        As for ``condition_rows``.
    precisions : float64 array of shape (K', D, D)
    means_x : array of shape (K, D), filled's dtype
        The means rounded to the data's dtype (the shifts of ``v``).
    means_t : float64 array of shape (D, K)
        The means, component last.
    resp : float64 array of shape (n_samples, K)
    """
    d = filled.shape[1]
    n_components = resp.shape[1]
    n_kinds = precisions.shape[0]
    cols = np.empty(d, dtype=np.int64)
    u = np.empty((n_components, d))
    h = np.empty((d, n_components))
    for i in visit:
        p = row_pattern[i]
        s = _columns(keys[i], d, cols)
        store = _store(offsets[p], cached, local)
        block = _start(offsets[p]) + n_kinds
        _shifted(filled, i, cols, s, means_x, u)
        for j in range(s):
            m = cols[j]
            for k in range(n_components):
                kk = 0 if n_kinds == 1 else k
                acc = 0.0
                for f in range(d):
                    acc += precisions[kk, m, f] * u[k, f]
                h[j, k] = acc
        for a in range(s):
            m = cols[a]
            value = 0.0
            for k in range(n_components):
                at = block + a * s * n_kinds + (0 if n_kinds == 1 else k)
                ch = 0.0
                for b in range(s):
                    ch += store[at + b * n_kinds] * h[b, k]
                value += resp[i, k] * (means_t[m, k] - ch)
            filled[i, m] = value
