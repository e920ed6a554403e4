"""Forward-backward and Viterbi on many sequences at once: the E-step engine of the HMMs.

Every sequence is cut into consecutive segments of at most ``L`` steps, and all segments of all
sequences are processed side by side, so that a Python loop runs over the (at most ``L``) steps of
one segment with every numpy call working on all segments at once. The recursions are linear
(forward-backward) or max-plus linear (Viterbi), so a segment acts on the state vector entering it
through a K x K *transfer matrix*. The transfer matrices of all segments are computed in one pass
(vectorised over segments), a short loop over the segments of a sequence (vectorised over
sequences) composes them into the exact forward and backward vectors at every segment boundary,
and the ordinary recursions then run inside all segments at once from those boundary values.

Storage is *packed*, time-major: segments are sorted by decreasing length, so the segments still
running at step ``p`` are a prefix of that order, and the rows of step ``p`` form one contiguous
block of the (T, K) arrays. There is no padding and no mask; memory is O(T K) plus
O(n_segments K K), never O(T K K).

Numerics. Emissions are shifted by their row maximum, ``b_t = exp(e_t - max_k e_t)``, and the
shifts are added back to the log-likelihood, so a frame that every state explains badly (a
60-sigma outlier) costs nothing. The forward vector is the scaled (filtered) one of Rabiner
(1989): ``alpha_t = (alpha_{t-1} A) * b_t / c_t`` with ``sum_k alpha_t(k) = 1`` and
``log p(x) = sum_t (shift_t + log c_t)``. A step whose normaliser falls below ``_TINY`` (the
prediction puts almost no mass where the emission does) is redone in log space, so nothing
underflows to an all-zero vector. The backward vector is normalised by its sum (any positive
scale works, since the posteriors are normalised per step) with the same log-space rescue.

Engines. The public functions take ``engine="auto" | "numpy" | "numba"``. ``"numpy"`` is the
segmented, vectorised pass described above. ``"numba"`` runs compiled kernels
(``emkit.hmm._compiled``, numba being the optional ``fast`` extra: ``pip install 'emkit[fast]'``)
that loop over the steps of one sequence at a time with the same numerics (shift by the row
maximum, scaled recursions, the same log-space rescues, ties of Viterbi to the lower state
index); they ignore ``segment_length``, since a compiled loop has no per-step call overhead to
amortise. ``"auto"`` (the default) uses numba when it can be imported and numpy otherwise. Both
engines give the same numbers to rounding (the tests hold them to 1e-12 relative on random
problems with segments, weights, ``-inf`` emissions, outliers and structural zeros), the same
Viterbi paths and the same errors. The compiled kernels are compiled on first use and cached on
disk (numba's ``cache=True``).
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any, final

import attrs
import numpy as np

from emkit._backend import ENGINES, Array, compiled_kernels

__all__ = [
    "ENGINES",
    "UNSEGMENTED_MIN_WORK",
    "Posteriors",
    "engine_in_use",
    "forward_backward",
    "log_likelihood",
    "segment_length_for",
    "viterbi",
]

# Below this a normaliser is treated as underflowing and its step is redone in log space. At
# 1e-150 a sum of products of doubles is still exact to rounding, and the ratio
# b * beta / (c * g) used for the transition counts stays below 1e300.
_TINY = 1e-150

# The default segment length never drops below this: shorter segments make the per-segment
# transfer matrices (K times the work of the plain forward pass) the bottleneck.
_MIN_SEGMENT = 64

#: A chunk whose sequences, side by side, give at least this many (row, state) pairs per step
#: of its longest sequence (``sum(lengths) * K >= UNSEGMENTED_MIN_WORK * max(lengths)``) runs
#: unsegmented in the numpy engine; see ``segment_length_for``.
UNSEGMENTED_MIN_WORK = 512

# the number of states assumed by segment_length_for when it is not told
_DEFAULT_STATES = 8

# N~ (m, K, K), the log row scales (m, K) and the position of every rank among the m
_Transfer = tuple[Array, Array, Array]


@final
@attrs.frozen(eq=False)
class Posteriors:
    """What the E-step of an HMM needs from the forward-backward pass of a chunk of sequences.

    Attributes
    ----------
    state : Array
        (T, K) float64: ``gamma_t(k) = p(z_t = k | x of its sequence)``; rows sum to 1.
    starts : Array
        (K,) float64: sum over sequences ``s`` of ``w_s * gamma_{first step of s}``.
    transitions : Array
        (K, K) float64: sum over sequences of ``w_s * sum_t xi_t(i, j)`` with
        ``xi_t(i, j) = p(z_t = i, z_{t+1} = j | x)``.
    log_likelihood : Array
        (n_sequences,) float64: ``log p(x_s)`` of every sequence (not weighted).
    """

    state: Array
    starts: Array
    transitions: Array
    log_likelihood: Array


def segment_length_for(lengths: Array, n_states: int | None = None) -> int:
    """The default segment length of the numpy engine for sequences of the given lengths.

    Segmenting buys fewer turns of the Python loop over steps (each turn costs a few numpy calls
    of fixed overhead, about 40 microseconds for a forward-backward step) at the price of the
    transfer pass, K times the arithmetic of the forward pass. So:

    * when the chunk is *wide*, ``T * K >= UNSEGMENTED_MIN_WORK * max(lengths)`` with
      ``T = sum(lengths)`` (at K = 8: at least 64 sequences of the longest length side by side),
      the per-step overhead is already amortised over the rows of a step and nothing is cut:
      ``L = max(lengths)``;
    * otherwise ``L = min(max(lengths), max(64, ceil(sqrt(T))))``: one long sequence of ``T``
      steps becomes about ``sqrt(T)`` segments of ``sqrt(T)`` steps, which balances the loop over
      the steps of a segment against the loop over the segments of a sequence.

    Measured (one core, forward-backward of sequences of 1,000 steps, time unsegmented divided
    by time with the square-root rule; 2 x 2-core machine under load, so +-30%): K = 2: 4.2, 3.3,
    1.1, 1.2, 1.3 for 16, 32, 64, 128, 256 sequences; K = 4: 2.5, 1.3, 1.6, 0.95, 0.86; K = 8:
    2.5, 2.0, 0.5, 1.0, 0.7; K = 16: 2.1, 0.5, 0.6, 0.6, 0.3. The break-even width is about
    512 / K sequences, hence ``UNSEGMENTED_MIN_WORK = 512``. A rule on the longest length alone
    (no cut up to 2,048, 4,096 or 8,192 steps) was measured and rejected: one sequence of 4,096
    steps takes 0.18 s unsegmented against 0.013 s in segments of 64 (K = 4), 14 times as long,
    and 4 x 8,192 steps (K = 8) 0.37 s against 0.05 s. For one sequence of 10^6 steps (K = 4),
    L = 500, 1,000, 2,000, 4,096 took 0.71, 0.58, 0.66, 0.72 s: the square root (1,000) is
    the best of them. With 111 sequences of 1,000 steps (K = 8, a chunk of the benchmark's
    1,000 x 1,000 case) the wide rule runs 0.107 s against 0.138 s in segments of 334.

    Parameters
    ----------
    lengths : Array
        (n_sequences,) positive ints.
    n_states : int or None
        K; None counts as 8.

    Returns
    -------
    int
        The segment length, at least 1.
    """
    lengths = np.asarray(lengths)
    total = int(lengths.sum())
    longest = int(lengths.max())
    K = _DEFAULT_STATES if n_states is None else int(n_states)
    if total * K >= UNSEGMENTED_MIN_WORK * longest:
        return max(1, longest)
    return max(1, min(longest, max(_MIN_SEGMENT, math.isqrt(max(total - 1, 0)) + 1)))


# -- layout ---------------------------------------------------------------------------------------


@final
@attrs.frozen(eq=False)
class _Layout:
    """Where every step of every segment lives in the packed (T, K) arrays.

    Segments are indexed by *rank*: their position when sorted by decreasing length (stable, so
    equal lengths keep sequence order). Packed row ``offsets[p] + r`` holds step ``p`` of the
    segment of rank ``r``; ``n_active[p]`` segments have a step ``p``.
    """

    n_sequences: int
    seq_start: Array  # (n_seq,) first natural row of every sequence
    seq_segments: Array  # (n_seq,) number of segments of every sequence
    first_segment: Array  # (n_seq,) natural index of every sequence's first segment
    rank_of: Array  # (n_seg,) rank of every natural segment
    seg_len: Array  # (n_seg,) length, by rank (non-increasing)
    seg_seq: Array  # (n_seg,) sequence, by rank
    seg_first: Array  # (n_seg,) bool: first segment of its sequence, by rank
    seg_last: Array  # (n_seg,) bool: last segment of its sequence, by rank
    n_active: Array  # (L + 1,) segments with a step p; n_active[L] == 0
    offsets: Array  # (L + 1,) first packed row of step p
    perm: Array  # (T,) natural row of every packed row
    inv_perm: Array  # (T,) packed row of every natural row
    row_rank: Array  # (T,) rank of the segment of every packed row


def _layout(lengths: Array, segment_length: int) -> _Layout:
    lengths = np.asarray(lengths, dtype=np.intp)
    n_seq = lengths.size
    L = min(segment_length, int(lengths.max()))
    seq_start = np.zeros(n_seq, dtype=np.intp)
    np.cumsum(lengths[:-1], out=seq_start[1:])
    seq_segments = -(-lengths // L)
    first_segment = np.zeros(n_seq, dtype=np.intp)
    np.cumsum(seq_segments[:-1], out=first_segment[1:])
    n_seg = int(seq_segments.sum())
    seq_of = np.repeat(np.arange(n_seq), seq_segments)
    index_in_seq = np.arange(n_seg) - first_segment[seq_of]
    start = seq_start[seq_of] + index_in_seq * L
    length = np.minimum(L, lengths[seq_of] - index_in_seq * L)
    order = np.argsort(-length, kind="stable")
    rank_of = np.empty(n_seg, dtype=np.intp)
    rank_of[order] = np.arange(n_seg)
    seg_len = length[order]
    # n_active[p] = #segments longer than p = #segments of length >= p + 1
    at_least = np.bincount(seg_len, minlength=L + 1)[::-1].cumsum()[::-1]
    n_active = np.zeros(L + 1, dtype=np.intp)
    n_active[:L] = at_least[1 : L + 1]
    offsets = np.zeros(L + 1, dtype=np.intp)
    np.cumsum(n_active[:L], out=offsets[1:])
    total = int(offsets[L])
    step_of_row = np.repeat(np.arange(L), n_active[:L])
    row_rank = np.arange(total) - offsets[step_of_row]
    perm = start[order][row_rank] + step_of_row
    inv_perm = np.empty(total, dtype=np.intp)
    inv_perm[perm] = np.arange(total)
    return _Layout(
        n_sequences=n_seq,
        seq_start=seq_start,
        seq_segments=seq_segments,
        first_segment=first_segment,
        rank_of=rank_of,
        seg_len=seg_len,
        seg_seq=seq_of[order],
        seg_first=(index_in_seq == 0)[order],
        seg_last=(index_in_seq == seq_segments[seq_of] - 1)[order],
        n_active=n_active,
        offsets=offsets,
        perm=perm,
        inv_perm=inv_perm,
        row_rank=row_rank,
    )


def _check(
    log_emission: Array, startprob: Array, transmat: Array, lengths: Array, segment_length: Any
) -> tuple[Array, Array, Array, Array, int]:
    E = np.asarray(log_emission, dtype=np.float64)
    pi = np.asarray(startprob, dtype=np.float64)
    A = np.ascontiguousarray(transmat, dtype=np.float64)
    lengths = np.asarray(lengths)
    if E.ndim != 2 or pi.shape != (E.shape[1],) or A.shape != (E.shape[1], E.shape[1]):
        raise ValueError(
            "`log_emission` (T, K), `startprob` (K,) and `transmat` (K, K) must agree; got "
            f"shapes {E.shape}, {pi.shape} and {A.shape}"
        )
    if lengths.ndim != 1 or lengths.size == 0 or lengths.dtype.kind not in "iu":
        raise ValueError(f"`lengths` must be a non-empty 1-d array of ints; got {lengths!r}")
    if lengths.min() < 1 or int(lengths.sum()) != E.shape[0]:
        raise ValueError(
            "`lengths` must be positive and sum to the number of rows of `log_emission` "
            f"({E.shape[0]}); got minimum {lengths.min()} and sum {lengths.sum()}"
        )
    if segment_length is None:
        L = segment_length_for(lengths, E.shape[1])
    elif isinstance(segment_length, int | np.integer) and segment_length >= 1:
        L = int(segment_length)
    else:
        raise ValueError(f"`segment_length` must be a positive int or None; got {segment_length!r}")
    return E, pi, A, lengths, L


def _shifted(E: Array, lay: _Layout | None) -> tuple[Array, Array]:
    """Emissions shifted by their row maximum, and the shifts (0 for an all -inf row).

    Packed rows for a layout; natural (C-contiguous) rows for None (the compiled engine).
    """
    e = E if lay is None else np.take(E, lay.perm, axis=0)
    # a running maximum over the K columns is several times faster than a row reduction
    shift = e[:, 0].copy()
    for k in range(1, e.shape[1]):
        np.maximum(shift, e[:, k], out=shift)
    shift[~np.isfinite(shift)] = 0.0
    if lay is None:
        return np.subtract(E, shift[:, None], order="C"), shift  # a new C-ordered array
    e -= shift[:, None]
    return e, shift


def _log(x: Array) -> Array:
    with np.errstate(divide="ignore"):
        return np.log(x)


def _lse(a: Array, axis: int) -> Array:
    """``log(sum(exp(a), axis))``; all ``-inf`` gives ``-inf`` without warnings."""
    m = a.max(axis=axis, keepdims=True)
    m[~np.isfinite(m)] = 0.0
    with np.errstate(divide="ignore"):
        out = np.log(np.exp(a - m).sum(axis=axis, keepdims=True)) + m
    return np.asarray(np.squeeze(out, axis=axis))


def _log_rows_normalised(v: Array) -> Array:
    """``v`` minus the log-sum-exp of its rows (rows of only ``-inf`` stay ``-inf``)."""
    norm = _lse(v, axis=1)
    norm[~np.isfinite(norm)] = 0.0
    return v - norm[:, None]


def _log_normalise(v: Array) -> tuple[Array, Array]:
    """Rows of ``exp(v)`` normalised to sum 1, and their log normalisers (rows of (m, K)).

    A row of only ``-inf`` (a dead row) comes back as zeros with normaliser ``-inf``.
    """
    m = v.max(axis=1)
    dead = ~np.isfinite(m)
    m[dead] = 0.0
    x = np.exp(v - m[:, None])
    s = x.sum(axis=1)
    s[dead] = 1.0
    x /= s[:, None]
    log_norm = m + np.log(s)
    log_norm[dead] = -np.inf
    return x, log_norm


def _sum_by_sequence(values: Array, lay: _Layout) -> Array:
    """Per-sequence sums of packed per-row values (by segment first: short sequential sums)."""
    by_segment = np.bincount(lay.row_rank, weights=values, minlength=lay.seg_len.size)
    return np.bincount(lay.seg_seq, weights=by_segment, minlength=lay.n_sequences)


class _ImpossibleSequenceError(ValueError):
    """A sequence whose scaled recursion found no path (``sequence``, ``step`` within it)."""

    def __init__(self, sequence: int, step: int) -> None:
        super().__init__(
            f"sequence {sequence} is impossible under the model: its probability is exactly 0 "
            f"from step {step} of the sequence on (every path is blocked by zeros in "
            "`startprob`/`transmat` or by -inf emissions)"
        )
        self.sequence = sequence


def _impossible(sequence: int, step: int) -> _ImpossibleSequenceError:
    return _ImpossibleSequenceError(sequence, step)


def _raise_impossible(rows: Array, lay: _Layout) -> None:
    t = lay.perm[np.asarray(rows, dtype=np.intp)]
    seq = np.searchsorted(lay.seq_start, t, side="right") - 1
    step = t - lay.seq_start[seq]
    first = np.lexsort((step, seq))[0]
    raise _impossible(int(seq[first]), int(step[first]))


def _raise_kernel_error(error: Array) -> None:
    """Raise the ValueError of an impossible sequence reported by a compiled kernel."""
    if int(error[0]) >= 0:
        raise _impossible(int(error[0]), int(error[1]))


# the compiled kernels once imported, or the ImportError of the one attempt to import them
_compiled: ModuleType | ImportError | None = None


def _kernels(engine: Any) -> ModuleType | None:
    """The compiled kernels for ``engine``, or None for the numpy engine."""
    global _compiled
    _compiled, kernels = compiled_kernels(engine, _compiled, "emkit.hmm._compiled")
    return kernels


def engine_in_use(engine: str = "auto") -> str:
    """The engine that ``engine`` resolves to: ``"numba"`` or ``"numpy"``.

    Parameters
    ----------
    engine : str
        One of ``"auto"``, ``"numpy"``, ``"numba"``.

    Returns
    -------
    str
        ``"numba"`` if the compiled kernels will run, else ``"numpy"``.

    Raises
    ------
    ImportError
        If ``engine == "numba"`` and numba cannot be imported.
    """
    return "numpy" if _kernels(engine) is None else "numba"


def _contiguous(x: Array, dtype: Any) -> Array:
    return np.ascontiguousarray(x, dtype=dtype)


# -- forward ---------------------------------------------------------------------------------------


def _rows(X: Array, lay: _Layout, p: int, n: int) -> Array:
    """The rows of step ``p`` of the ``n`` first ranks: a contiguous view of packed ``X``."""
    lo = int(lay.offsets[p])
    return X[lo : lo + n]


def _transfer(e: Array, b: Array, A: Array, lay: _Layout, ranks: Array) -> tuple[Array, Array]:
    """Row-normalised forward transfer matrices of the segments ``ranks`` (increasing).

    For segment ``g`` with steps ``0 .. n-1``, ``N_g = diag(b_0) A diag(b_1) ... A diag(b_{n-1})``
    maps the prediction entering the segment to the unnormalised forward vector at its last
    step. Row ``i`` is a forward pass started from state ``i``; each row is normalised to sum 1
    at every step with its log scale kept: ``N_g[i] = exp(scale[i]) * N~_g[i]``.

    Returns ``N~`` (m, K, K) and ``scale`` (m, K).
    """
    m, K = ranks.size, A.shape[0]
    lens = lay.seg_len[ranks]
    prefix = m > 0 and int(ranks[-1]) == m - 1  # the ranks are 0 .. m-1: step rows are views
    R = np.zeros((m, K, K))
    R[:, np.arange(K), np.arange(K)] = 1.0
    scale = e[ranks]
    R[~np.isfinite(scale)] = 0.0
    spare = np.empty((m, K, K))
    s_buf = np.empty((m, K))
    log_s = np.empty((m, K))
    ones = np.ones(K)
    n_prev = m
    for p in range(1, int(lens[0]) if m else 0):
        n = int(np.count_nonzero(lens > p))
        # segments that ended at the previous step keep their matrix in the buffer being left
        spare[n:n_prev] = R[n:n_prev]
        n_prev = n
        prev = R[:n]
        new = spare[:n]
        np.matmul(prev.reshape(n * K, K), A, out=new.reshape(n * K, K))
        bp = _rows(b, lay, p, n) if prefix else b[lay.offsets[p] + ranks[:n]]
        new *= bp[:, None, :]
        s = np.matmul(new, ones, out=s_buf[:n])
        if s.min() < _TINY:
            seg, row = np.nonzero(s < _TINY)
            alive = np.isfinite(scale[seg, row])
            s[seg[~alive], row[~alive]] = 1.0
            seg, row = seg[alive], row[alive]
            if seg.size:
                rows = lay.offsets[p] + ranks[seg]
                v = _log(prev[seg, row] @ A) + e[rows]
                x, log_norm = _log_normalise(v)
                new[seg, row] = x
                s[seg, row] = 1.0
                scale[seg, row] += log_norm
        new *= np.reciprocal(s)[..., None]
        scale[:n] += np.log(s, out=log_s[:n])
        R, spare = spare, R
    return R, scale


def _sequences_by_segments(lay: _Layout) -> tuple[Array, Array]:
    """Sequences of more than one segment, those with more segments first, and their counts."""
    multi = np.flatnonzero(lay.seq_segments > 1)
    seqs = multi[np.argsort(-lay.seq_segments[multi], kind="stable")]
    return seqs, lay.seq_segments[seqs]


def _boundary_forward(
    e: Array, b: Array, pi: Array, A: Array, logA: Array, lay: _Layout
) -> tuple[Array, _Transfer | None]:
    """The normalised prediction ``p(z | x before the segment)`` entering every segment.

    Returns it (n_seg, K) by rank and the transfer data of multi-segment sequences (or None).
    """
    n_seg, K = lay.seg_len.size, pi.size
    pred = np.empty((n_seg, K))
    pred[lay.seg_first] = pi
    seqs, counts = _sequences_by_segments(lay)
    if seqs.size == 0:
        return pred, None
    ranks = np.flatnonzero(~(lay.seg_first & lay.seg_last))
    N, scale = _transfer(e, b, A, lay, ranks)
    where = np.empty(n_seg, dtype=np.intp)
    where[ranks] = np.arange(ranks.size)
    # sequences with more segments first, so those still running at segment j are a prefix
    for j in range(int(counts[0]) - 1):
        active = seqs[: int(np.count_nonzero(counts > j + 1))]
        r = lay.rank_of[lay.first_segment[active] + j]
        r_next = lay.rank_of[lay.first_segment[active] + j + 1]
        w = where[r]
        # q' ∝ (q * exp(scale)) N~ A, in linear space after shifting log(q) + scale to maximum 0:
        # the largest weight is 1 and multiplies a row of N~ of sum 1, so the result has mass
        # >= 1 (A is row-stochastic) and nothing that matters underflows; a dead row (all
        # weights 0: the sequence is impossible) stays 0 and is reported by the forward pass
        u = _log(pred[r])
        u += scale[w]
        top = u.max(axis=1)
        top[~np.isfinite(top)] = 0.0
        u -= top[:, None]
        weight = np.exp(u)
        nxt = np.matmul(weight[:, None, :], N[w])[:, 0, :] @ A
        z = nxt.sum(axis=1)
        low = z < _TINY
        if low.any():
            # not row-stochastic enough to keep the mass: the same in log space
            k = np.flatnonzero(low)
            end = _lse(u[k][:, :, None] + _log(N[w[k]]), axis=1)
            nxt[k], _ = _log_normalise(_lse(end[:, :, None] + logA, axis=1))
            z[k] = 1.0
        nxt *= np.reciprocal(z)[:, None]
        pred[r_next] = nxt
    return pred, (N, scale, where)


def _forward(
    e: Array, b: Array, pi: Array, A: Array, logA: Array, lay: _Layout
) -> tuple[Array, Array, Array, _Transfer | None]:
    """Scaled forward pass inside all segments.

    Returns alpha (T, K) packed, the log normalisers ``log c`` (T,) packed, the per-row
    normaliser actually divided by (1 on rows redone in log space), and the transfer data.
    """
    K = b.shape[1]
    pred0, transfer = _boundary_forward(e, b, pi, A, logA, lay)
    alpha = np.empty((lay.perm.size, K))
    c = np.empty(lay.perm.size)
    ones = np.ones(K)
    fixed_rows: list[Array] = []
    fixed_vals: list[Array] = []
    dead_rows: list[Array] = []
    n_active = lay.n_active
    for p in range(n_active.size - 1):
        n = int(n_active[p])
        if n == 0:
            break
        lo = int(lay.offsets[p])
        blk = _rows(alpha, lay, p, n)
        bp = _rows(b, lay, p, n)
        if p == 0:
            np.multiply(pred0, bp, out=blk)
        else:
            prev = _rows(alpha, lay, p - 1, n)
            np.matmul(prev, A, out=blk)
            blk *= bp
        cb = _rows(c, lay, p, n)
        np.matmul(blk, ones, out=cb)
        if cb.min() < _TINY:
            low = np.flatnonzero(cb < _TINY)
            log_pred = _log(pred0[low]) if p == 0 else _log(prev[low] @ A)
            x, log_norm = _log_normalise(log_pred + e[lo + low])
            blk[low] = x
            cb[low] = 1.0
            fixed_rows.append(lo + low)
            fixed_vals.append(log_norm)
            dead = ~np.isfinite(log_norm)
            if dead.any():
                dead_rows.append(lo + low[dead])
        blk *= np.reciprocal(cb)[:, None]
    if dead_rows:
        _raise_impossible(np.concatenate(dead_rows), lay)
    log_c = np.log(c)
    if fixed_rows:
        log_c[np.concatenate(fixed_rows)] = np.concatenate(fixed_vals)
    return alpha, log_c, c, transfer


# -- backward --------------------------------------------------------------------------------------


def _boundary_backward(A: Array, logA: Array, lay: _Layout, transfer: _Transfer | None) -> Array:
    """The normalised backward vector at the last step of every segment, (n_seg, K) by rank."""
    n_seg, K = lay.seg_len.size, A.shape[0]
    beta = np.full((n_seg, K), 1.0 / K)
    if transfer is not None:
        N, scale, where = transfer
        seqs, counts = _sequences_by_segments(lay)
        for j in range(int(counts[0]) - 2, -1, -1):
            active = seqs[: int(np.count_nonzero(counts > j + 1))]
            r = lay.rank_of[lay.first_segment[active] + j]
            r_next = lay.rank_of[lay.first_segment[active] + j + 1]
            # beta_end(g) ∝ A diag(exp(scale_{g+1})) N~_{g+1} beta_end(g+1): y = log(N~ beta) +
            # scale in log space, shifted to maximum 0, then A y in linear space; a product
            # whose mass underflows (the best entry state is one A hardly reaches) is redone
            # in log space
            w = where[r_next]
            y = _log(np.matmul(N[w], beta[r_next][:, :, None])[:, :, 0])
            y += scale[w]
            top = y.max(axis=1)
            top[~np.isfinite(top)] = 0.0
            y -= top[:, None]
            nb = np.exp(y) @ A.T
            z = nb.sum(axis=1)
            low = z < _TINY
            if low.any():
                k = np.flatnonzero(low)
                nb[k], _ = _log_normalise(_lse(logA[None, :, :] + y[k][:, None, :], axis=2))
                z[k] = 1.0
            nb *= np.reciprocal(z)[:, None]
            beta[r] = nb
    return beta


def _backward(
    e: Array, b: Array, A: Array, logA: Array, lay: _Layout, transfer: _Transfer | None
) -> Array:
    """Backward vectors (T, K) packed, each row normalised to sum 1."""
    K = b.shape[1]
    beta_end = _boundary_backward(A, logA, lay, transfer)
    beta = np.empty((lay.perm.size, K))
    AT = np.ascontiguousarray(A.T)
    ones = np.ones(K)
    n_active = lay.n_active
    work = np.empty((int(n_active[0]), K))
    sums = np.empty(int(n_active[0]))
    for p in range(n_active.size - 2, -1, -1):
        n, nn = int(n_active[p]), int(n_active[p + 1])
        if n == 0:
            continue
        blk = _rows(beta, lay, p, n)
        blk[nn:] = beta_end[nn:n]
        if nn == 0:
            continue
        hi = int(lay.offsets[p + 1])
        nxt = _rows(beta, lay, p + 1, nn)
        w = np.multiply(_rows(b, lay, p + 1, nn), nxt, out=work[:nn])
        head = blk[:nn]
        np.matmul(w, AT, out=head)
        s = np.matmul(head, ones, out=sums[:nn])
        if s.min() < _TINY:
            low = np.flatnonzero(s < _TINY)
            v = e[hi + low] + _log(nxt[low])
            lb = _lse(logA[None, :, :] + v[:, None, :], axis=2)
            x, _ = _log_normalise(lb)
            head[low] = x
            s[low] = 1.0
        head *= np.reciprocal(s)[:, None]
    return beta


# -- public functions ------------------------------------------------------------------------------


def _scaled_forward_backward(
    log_emission: Array,
    startprob: Array,
    transmat: Array,
    lengths: Array,
    sequence_weights: Array | None = None,
    segment_length: int | None = None,
    *,
    engine: str = "auto",
) -> Posteriors:
    """[`forward_backward`][emkit.hmm.lattice.forward_backward] by the scaled recursions of one
    engine; raises ``_ImpossibleSequenceError`` for a sequence they find no path through."""
    E, pi, A, lengths, L = _check(log_emission, startprob, transmat, lengths, segment_length)
    kernels = _kernels(engine)
    K = E.shape[1]
    logA = _log(A)
    weights = None if sequence_weights is None else np.asarray(sequence_weights, np.float64)
    if kernels is not None:
        e, shift = _shifted(E, None)
        gamma, starts, transitions, ll, error = kernels.forward_backward(
            e,
            np.exp(e),
            shift,
            _contiguous(pi, np.float64),
            A,
            logA,
            _contiguous(lengths, np.int64),
            np.ones(lengths.size) if weights is None else _contiguous(weights, np.float64),
        )
        _raise_kernel_error(error)
        return Posteriors(state=gamma, starts=starts, transitions=transitions, log_likelihood=ll)
    lay = _layout(lengths, L)
    e, shift = _shifted(E, lay)
    b = np.exp(e)
    alpha, log_c, c, transfer = _forward(e, b, pi, A, logA, lay)
    beta = _backward(e, b, A, logA, lay, transfer)
    ones = np.ones(K)

    # gamma_t ∝ alpha_t * beta_t; a row whose product underflows is redone in log space
    gamma = alpha * beta
    g = gamma @ ones
    low_g = g < _TINY
    if low_g.any():
        rows = np.flatnonzero(low_g)
        gamma[rows], _ = _log_normalise(_log(alpha[rows]) + _log(beta[rows]))
        g[rows] = 1.0
    gamma *= np.reciprocal(g)[:, None]

    row_weight = None if weights is None else weights[lay.seg_seq[lay.row_rank]]

    # sum_t xi_t = A * sum_t alpha_t^T V_{t+1} with V_{t+1} = b_{t+1} beta_{t+1} / n_t, where
    # the normaliser n_t = alpha_t A (b beta)_{t+1} = c_{t+1} g_{t+1}. V overwrites b (now unused).
    V = b
    V *= beta
    g *= c
    V *= np.reciprocal(g)[:, None]
    bad = np.flatnonzero(low_g | (log_c < math.log(_TINY)))
    V[bad] = 0.0
    if row_weight is not None:
        V *= row_weight[:, None]
    counts = np.zeros((K, K))
    n_active = lay.n_active
    for p in range(n_active.size - 2):
        nn = int(n_active[p + 1])
        if nn == 0:
            break
        counts += _rows(alpha, lay, p, nn).T @ _rows(b, lay, p + 1, nn)
    # pairs across a segment boundary: first row of a non-first segment and its natural predecessor
    nxt = np.flatnonzero(~lay.seg_first)  # packed row of step 0 of rank r is rride
    if nxt.size:
        prv = lay.inv_perm[lay.perm[nxt] - 1]
        counts += alpha[prv].T @ V[nxt]
    transitions = A * counts
    bad = bad[lay.perm[bad] != _seq_first_row(bad, lay)]  # a sequence's first step has no pair
    if bad.size:
        # xi_t in log space for the few pairs whose normaliser underflowed
        prv = lay.inv_perm[lay.perm[bad] - 1]
        log_xi = (
            _log(alpha[prv])[:, :, None] + logA[None, :, :] + (e[bad] + _log(beta[bad]))[:, None, :]
        )
        log_xi -= _lse(log_xi.reshape(bad.size, K * K), axis=1)[:, None, None]
        xi = np.exp(log_xi)
        if row_weight is not None:
            xi *= row_weight[bad][:, None, None]
        transitions += xi.sum(axis=0)

    state = np.take(gamma, lay.inv_perm, axis=0)
    first_rows = state[lay.seq_start]
    starts = first_rows.sum(axis=0) if weights is None else weights @ first_rows
    shift += log_c
    ll = _sum_by_sequence(shift, lay)
    return Posteriors(state=state, starts=starts, transitions=transitions, log_likelihood=ll)


def _seq_first_row(rows: Array, lay: _Layout) -> Array:
    """Natural row of the first step of the sequence of each packed row."""
    return lay.seq_start[lay.seg_seq[lay.row_rank[rows]]]


def _scaled_log_likelihood(
    log_emission: Array,
    startprob: Array,
    transmat: Array,
    lengths: Array,
    segment_length: int | None = None,
    *,
    engine: str = "auto",
) -> Array:
    """[`log_likelihood`][emkit.hmm.lattice.log_likelihood] by the scaled forward pass of one
    engine; raises ``_ImpossibleSequenceError`` for a sequence it finds no path through."""
    E, pi, A, lengths, L = _check(log_emission, startprob, transmat, lengths, segment_length)
    kernels = _kernels(engine)
    if kernels is not None:
        e, shift = _shifted(E, None)
        ll, error = kernels.log_likelihood(
            e,
            np.exp(e),
            shift,
            _contiguous(pi, np.float64),
            A,
            _contiguous(lengths, np.int64),
        )
        _raise_kernel_error(error)
        return np.asarray(ll)
    lay = _layout(lengths, L)
    e, shift = _shifted(E, lay)
    _, log_c, _, _ = _forward(e, np.exp(e), pi, A, _log(A), lay)
    shift += log_c
    return _sum_by_sequence(shift, lay)


# -- Viterbi ---------------------------------------------------------------------------------------


def _maxplus_transfer(e: Array, logA: Array, lay: _Layout, ranks: Array) -> tuple[Array, Array]:
    """Max-plus transfer matrices of the segments ``ranks``: ``best[i, j]`` is the best log score
    of a path through the segment entering in state ``i`` (its emission included) and leaving
    from state ``j``; rows are shifted to maximum 0 with the shift kept in ``scale`` (m, K)."""
    m, K = ranks.size, logA.shape[0]
    lens = lay.seg_len[ranks]
    R = np.full((m, K, K), -np.inf)
    R[:, np.arange(K), np.arange(K)] = 0.0
    scale = e[ranks]
    for p in range(1, int(lens[0]) if m else 0):
        n = int(np.count_nonzero(lens > p))
        rows = lay.offsets[p] + ranks[:n]
        new = (R[:n, :, :, None] + logA).max(axis=2) + e[rows][:, None, :]
        top = new.max(axis=2)
        top[~np.isfinite(top)] = 0.0
        new -= top[..., None]
        R[:n] = new
        scale[:n] += top
    return R, scale


def viterbi(
    log_emission: Array,
    startprob: Array,
    transmat: Array,
    lengths: Array,
    segment_length: int | None = None,
    *,
    engine: str = "auto",
) -> tuple[Array, Array]:
    """The most probable state path of every sequence (max-plus forward and back-tracking).

    Parameters are those of [`forward_backward`][emkit.hmm.lattice.forward_backward]. Ties go to
    the lower state index.

    Returns
    -------
    states : Array
        (T,) intp: the best path of every sequence, concatenated.
    log_prob : Array
        (n_sequences,) float64: ``log p(x_s, best path)``.

    Raises
    ------
    ValueError
        If a sequence has probability 0 under the model (naming the sequence and the step).
    ImportError
        If ``engine="numba"`` and numba cannot be imported.
    """
    E, pi, A, lengths, L = _check(log_emission, startprob, transmat, lengths, segment_length)
    kernels = _kernels(engine)
    if kernels is not None:
        e, shift = _shifted(E, None)
        states, log_prob, error = kernels.viterbi(
            e,
            shift,
            _contiguous(_log(pi), np.float64),
            _log(A),
            _contiguous(lengths, np.int64),
        )
        _raise_kernel_error(error)
        return states, log_prob
    lay = _layout(lengths, L)
    T, K = E.shape
    n_seg = lay.seg_len.size
    logA = _log(A)
    e, shift = _shifted(E, lay)

    # best log score entering every segment (before its first emission), shifted to max 0
    q = np.empty((n_seg, K))
    q[lay.seg_first] = _log(pi)
    q_offset = np.zeros(n_seg)
    entry = np.zeros((n_seg, K), dtype=np.intp)  # best last state of the previous segment
    multi = np.flatnonzero(lay.seq_segments > 1)
    if multi.size:
        ranks = np.flatnonzero(~(lay.seg_first & lay.seg_last))
        R, scale = _maxplus_transfer(e, logA, lay, ranks)
        where = np.empty(n_seg, dtype=np.intp)
        where[ranks] = np.arange(ranks.size)
        seqs = multi[np.argsort(-lay.seq_segments[multi], kind="stable")]
        counts = lay.seq_segments[seqs]
        for j in range(int(counts[0]) - 1):
            active = seqs[: int(np.count_nonzero(counts > j + 1))]
            r = lay.rank_of[lay.first_segment[active] + j]
            r_next = lay.rank_of[lay.first_segment[active] + j + 1]
            u = q[r] + scale[where[r]]
            end = (u[:, :, None] + R[where[r]]).max(axis=1)
            cand = end[:, :, None] + logA
            best_prev = cand.argmax(axis=1)
            nq = np.take_along_axis(cand, best_prev[:, None, :], axis=1)[:, 0, :]
            top = nq.max(axis=1)
            top[~np.isfinite(top)] = 0.0
            q[r_next] = nq - top[:, None]
            q_offset[r_next] = q_offset[r] + top
            entry[r_next] = best_prev

    # max-plus forward inside all segments, back-pointers stored packed (T, K)
    back = np.empty((lay.perm.size, K), dtype=np.intp)
    delta = np.empty((int(lay.n_active[0]), K))
    seg_scale = q_offset.copy()
    final = np.empty((n_seg, K))
    dead_rows: list[Array] = []
    off, n_active = lay.offsets, lay.n_active
    for p in range(n_active.size - 1):
        n, nn = int(n_active[p]), int(n_active[p + 1])
        if n == 0:
            break
        lo = int(off[p])
        if p == 0:
            np.add(q, _rows(e, lay, 0, n), out=delta)
            _rows(back, lay, 0, n)[...] = 0
        else:
            cand = delta[:n, :, None] + logA
            bp = _rows(back, lay, p, n)
            np.argmax(cand, axis=1, out=bp)
            delta[:n] = np.take_along_axis(cand, bp[:, None, :], axis=1)[:, 0, :]
            delta[:n] += _rows(e, lay, p, n)
        top = delta[:n].max(axis=1)
        dead = ~np.isfinite(top)
        if dead.any():
            dead_rows.append(lo + np.flatnonzero(dead))
            top[dead] = 0.0
        delta[:n] -= top[:, None]
        seg_scale[:n] += top
        final[nn:n] = delta[nn:n]
    if dead_rows:
        _raise_impossible(np.concatenate(dead_rows), lay)

    # back-track inside all segments for every end state; the track overwrites the pointers
    cur = np.empty((int(n_active[0]), K), dtype=np.intp)
    for p in range(n_active.size - 2, -1, -1):
        n, nn = int(n_active[p]), int(n_active[p + 1])
        if n == 0:
            continue
        cur[nn:n] = np.arange(K)
        blk = _rows(back, lay, p, n)
        prev = np.take_along_axis(blk, cur[:n], axis=1)
        blk[...] = cur[:n]
        cur[:n] = prev
    # cur[r, k] is now unused; the start state of segment r given end state k is back[r, k]

    end_state = np.empty(n_seg, dtype=np.intp)
    last_r = lay.rank_of[lay.first_segment + lay.seq_segments - 1]
    end_state[last_r] = final[last_r].argmax(axis=1)
    log_prob = seg_scale[last_r] + final[last_r].max(axis=1)
    log_prob += np.bincount(lay.seg_seq[lay.row_rank], weights=shift, minlength=lay.n_sequences)
    if multi.size:
        seqs = multi[np.argsort(-lay.seq_segments[multi], kind="stable")]
        counts = lay.seq_segments[seqs]
        for j in range(int(counts[0]) - 1, 0, -1):
            active = seqs[: int(np.count_nonzero(counts > j))]
            r = lay.rank_of[lay.first_segment[active] + j]
            r_prev = lay.rank_of[lay.first_segment[active] + j - 1]
            start = back[r, end_state[r]]
            end_state[r_prev] = entry[r, start]
    packed = back[np.arange(T), end_state[lay.row_rank]]
    return packed[lay.inv_perm], log_prob


# -- sequences the scaled recursions cannot represent -----------------------------------------
#
# The scaled recursions keep every state's probability relative to the best one at each step. A
# state more than about e^-745 below the best underflows to exactly zero there; if a later step
# can only continue through that state (a structural zero in `transmat`, a known state), the
# scaled pass finds no path although one exists. Such a sequence is redone exactly in log space
# (a loop over its steps: this path serves only those rare sequences, never the others), and is
# reported impossible only when the log-space pass finds no path either.


def forward_backward(
    log_emission: Array,
    startprob: Array,
    transmat: Array,
    lengths: Array,
    sequence_weights: Array | None = None,
    segment_length: int | None = None,
    *,
    engine: str = "auto",
) -> Posteriors:
    """Forward-backward on concatenated sequences: state posteriors and expected counts.

    Parameters
    ----------
    log_emission : Array
        (T, K) ``log p(x_t | z_t = k)`` of all sequences concatenated, any float dtype; may hold
        ``-inf``.
    startprob : Array
        (K,) initial state probabilities (exact zeros allowed).
    transmat : Array
        (K, K) row-stochastic transition matrix (exact zeros allowed: left-right models).
    lengths : Array
        (n_sequences,) positive ints summing to T.
    sequence_weights : Array or None
        (n_sequences,) non-negative weights of the start and transition counts; None means 1.
    segment_length : int or None
        Steps per segment; None uses [`segment_length_for`][emkit.hmm.lattice.segment_length_for].
        The answer does not depend on it (up to rounding). Only the numpy engine segments.
    engine : str
        ``"auto"`` (numba when importable, else numpy), ``"numpy"`` or ``"numba"``; see the
        module docstring. The answer does not depend on it (up to rounding).

    Returns
    -------
    Posteriors
        State posteriors (T, K), weighted start counts (K,), weighted transition counts (K, K)
        and the log-likelihood of every sequence (n_sequences,).

    Raises
    ------
    ValueError
        If a sequence has probability 0 under the model (naming the sequence and the step).
    ImportError
        If ``engine="numba"`` and numba cannot be imported.
    """
    try:
        return _scaled_forward_backward(
            log_emission, startprob, transmat, lengths, sequence_weights, segment_length,
            engine=engine,
        )  # fmt: skip
    except _ImpossibleSequenceError as exc:
        lengths = np.asarray(lengths, dtype=np.intp)
        s = exc.sequence
        rows = _sequence_rows(lengths, s)
        weight = 1.0 if sequence_weights is None else float(np.asarray(sequence_weights)[s])
        exact = _log_space_forward_backward(
            np.asarray(log_emission, dtype=np.float64)[rows], startprob, transmat, exc
        )
        if lengths.size == 1:
            return Posteriors(
                state=exact.state,
                starts=weight * exact.starts,
                transitions=weight * exact.transitions,
                log_likelihood=exact.log_likelihood,
            )
        others = np.ones(lengths.size, dtype=bool)
        others[s] = False
        rest = forward_backward(
            np.asarray(log_emission)[~_row_mask(lengths, s)],
            startprob,
            transmat,
            lengths[others],
            None if sequence_weights is None else np.asarray(sequence_weights)[others],
            segment_length,
            engine=engine,
        )
        state = np.empty((int(lengths.sum()), rest.state.shape[1]))
        state[rows] = exact.state
        state[~_row_mask(lengths, s)] = rest.state
        log_lik = np.empty(lengths.size)
        log_lik[s] = exact.log_likelihood[0]
        log_lik[others] = rest.log_likelihood
        return Posteriors(
            state=state,
            starts=rest.starts + weight * exact.starts,
            transitions=rest.transitions + weight * exact.transitions,
            log_likelihood=log_lik,
        )


def log_likelihood(
    log_emission: Array,
    startprob: Array,
    transmat: Array,
    lengths: Array,
    segment_length: int | None = None,
    *,
    engine: str = "auto",
) -> Array:
    """``log p(x_s)`` of every sequence: the forward pass only (cheaper; for scoring).

    Parameters
    ----------
    log_emission, startprob, transmat, lengths, segment_length, engine
        As for [`forward_backward`][emkit.hmm.lattice.forward_backward].

    Returns
    -------
    log_likelihood : Array
        (n_sequences,) float64.

    Raises
    ------
    ValueError
        If a sequence has probability 0 under the model (naming the sequence and the step).
    ImportError
        If ``engine="numba"`` and numba cannot be imported.
    """
    try:
        return _scaled_log_likelihood(
            log_emission, startprob, transmat, lengths, segment_length, engine=engine
        )
    except _ImpossibleSequenceError as exc:
        lengths = np.asarray(lengths, dtype=np.intp)
        s = exc.sequence
        rows = _sequence_rows(lengths, s)
        exact = _log_space_forward(
            np.asarray(log_emission, dtype=np.float64)[rows], startprob, transmat, exc
        )
        result = np.empty(lengths.size)
        result[s] = exact
        others = np.ones(lengths.size, dtype=bool)
        others[s] = False
        if others.any():
            result[others] = log_likelihood(
                np.asarray(log_emission)[~_row_mask(lengths, s)],
                startprob,
                transmat,
                lengths[others],
                segment_length,
                engine=engine,
            )
        return result


def _sequence_rows(lengths: Array, s: int) -> slice:
    start = int(lengths[:s].sum())
    return slice(start, start + int(lengths[s]))


def _row_mask(lengths: Array, s: int) -> Array:
    mask = np.zeros(int(lengths.sum()), dtype=bool)
    mask[_sequence_rows(lengths, s)] = True
    return mask


def _log_space_alpha(
    E: Array, startprob: Array, transmat: Array, exc: _ImpossibleSequenceError
) -> Array:
    """Log forward variables of one sequence (T, K), exactly; re-raises ``exc`` if no path."""
    with np.errstate(divide="ignore"):
        log_pi, log_a = np.log(np.asarray(startprob, float)), np.log(np.asarray(transmat, float))
    alpha = np.empty_like(E)
    alpha[0] = log_pi + E[0]
    for t in range(1, E.shape[0]):
        alpha[t] = _lse(alpha[t - 1][:, None] + log_a, axis=0) + E[t]
    if not np.isfinite(_lse(alpha[-1:], axis=1)[0]):
        raise exc
    return alpha


def _log_space_forward(
    E: Array, startprob: Array, transmat: Array, exc: _ImpossibleSequenceError
) -> float:
    return float(_lse(_log_space_alpha(E, startprob, transmat, exc)[-1:], axis=1)[0])


def _log_space_forward_backward(
    E: Array, startprob: Array, transmat: Array, exc: _ImpossibleSequenceError
) -> Posteriors:
    """Forward-backward of one sequence in log space (T steps of K x K log-sum-exps)."""
    alpha = _log_space_alpha(E, startprob, transmat, exc)
    with np.errstate(divide="ignore"):
        log_a = np.log(np.asarray(transmat, float))
    T, K = E.shape
    beta = np.zeros_like(E)
    for t in range(T - 2, -1, -1):
        beta[t] = _lse(log_a + (E[t + 1] + beta[t + 1])[None, :], axis=1)
    total = float(_lse(alpha[-1:], axis=1)[0])
    with np.errstate(invalid="ignore"):
        state = np.exp(alpha + beta - total)
    state = np.nan_to_num(state, nan=0.0)
    state /= state.sum(axis=1, keepdims=True)
    transitions = np.zeros((K, K))
    for t in range(T - 1):
        with np.errstate(invalid="ignore"):
            pair = np.exp(alpha[t][:, None] + log_a + (E[t + 1] + beta[t + 1])[None, :] - total)
        transitions += np.nan_to_num(pair, nan=0.0)
    return Posteriors(
        state=state,
        starts=state[0].copy(),
        transitions=transitions,
        log_likelihood=np.array([total]),
    )
