"""Compiled (numba) kernels of the forward-backward and Viterbi passes, one sequence at a time.

This module imports numba at import time; [`emkit.hmm.lattice`][emkit.hmm.lattice] imports it
lazily and only when the compiled engine is asked for (numba is the optional ``fast`` extra). The
kernels do in a compiled loop over the steps of every sequence what the numpy engine does with
numpy calls vectorised across sequences and segments, with the same numerics:

* emissions are shifted by their row maximum (0 for an all ``-inf`` row), ``b_t = exp(e_t -
  shift_t)``, and the shifts are added back to the log-likelihood;
* the forward vector is the scaled one, ``alpha_t = (alpha_{t-1} A) * b_t / c_t``; a step whose
  normaliser falls below ``TINY`` is redone in log space, and one whose log normaliser is
  ``-inf`` makes the sequence impossible;
* the backward vector is normalised by its sum, with the same log-space rescue;
* ``xi_t(i, j) = alpha_t(i) A_ij b_{t+1}(j) beta_{t+1}(j) / n_t`` summed over ``t`` without a
  (T, K, K) array: the kernel adds ``alpha_t(i) w_j / n_t`` with ``w = b_{t+1} beta_{t+1}`` and
  multiplies by ``A`` once at the end; ``n_t = alpha_t . (A w)`` comes with the backward step
  (``A w`` is the unnormalised ``beta_t``), and a pair whose ``n_t`` underflows is summed in log
  space instead.

Errors are not raised inside the kernels: a kernel that meets an impossible sequence stops and
returns its index and the step, and the caller raises the ValueError.
"""

from __future__ import annotations

import math

import numba  # type: ignore[import-untyped,import-not-found,unused-ignore]
import numpy as np

from emkit._backend import Array

# the numpy engine's threshold (emkit.hmm.lattice._TINY), repeated here to keep this module
# free of imports from lattice (which imports this one)
TINY = 1e-150

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _safe_log(x: float) -> float:
    if x > 0.0:
        return math.log(x)
    return -math.inf


@_jit
def _shift_rows(E: Array, b: Array, shift: Array) -> None:
    """``shift[t] = max_k E[t, k]`` (0 when not finite) and ``b = exp(E - shift)``."""
    T, K = E.shape
    for t in range(T):
        m = E[t, 0]
        for k in range(1, K):
            if E[t, k] > m:
                m = E[t, k]
        if not math.isfinite(m):
            m = 0.0
        shift[t] = m
        for k in range(K):
            b[t, k] = math.exp(E[t, k] - m)


@_jit
def _normalise_log(v: Array, out: Array) -> float:
    """``out = exp(v) / sum(exp(v))``; returns the log normaliser (``-inf``, out = 0, if dead)."""
    K = v.size
    m = -math.inf
    for k in range(K):
        if v[k] > m:
            m = v[k]
    if not math.isfinite(m):
        for k in range(K):
            out[k] = 0.0
        return -math.inf
    s = 0.0
    for k in range(K):
        out[k] = math.exp(v[k] - m)
        s += out[k]
    for k in range(K):
        out[k] /= s
    return m + math.log(s)


@_jit
def _forward_step(
    pred: Array, b_t: Array, E_t: Array, shift_t: float, alpha_t: Array, v: Array
) -> float:
    """``alpha_t`` from the prediction ``pred = alpha_{t-1} A`` (or pi); returns ``log c_t``."""
    K = pred.size
    c = 0.0
    for k in range(K):
        alpha_t[k] = pred[k] * b_t[k]
        c += alpha_t[k]
    if c < TINY:
        for k in range(K):
            v[k] = _safe_log(pred[k]) + (E_t[k] - shift_t)
        return _normalise_log(v, alpha_t)
    for k in range(K):
        alpha_t[k] /= c
    return math.log(c)


@_jit
def _predict(alpha_prev: Array, A: Array, pred: Array) -> None:
    K = pred.size
    for j in range(K):
        pred[j] = 0.0
    for i in range(K):
        a = alpha_prev[i]
        if a != 0.0:
            for j in range(K):
                pred[j] += a * A[i, j]


@_jit
def forward_backward(
    E: Array, pi: Array, A: Array, logA: Array, lengths: Array, weights: Array
) -> tuple[Array, Array, Array, Array, Array]:
    """Posteriors of all sequences: ``(gamma (T, K), starts (K,), transitions (K, K), log_lik
    (n_seq,), error (2,))``; ``error`` is ``(sequence, step)`` of an impossible sequence or
    ``(-1, -1)``."""
    T, K = E.shape
    n_seq = lengths.size
    b = np.empty((T, K))
    shift = np.empty(T)
    _shift_rows(E, b, shift)
    gamma = np.empty((T, K))  # holds alpha until the backward sweep overwrites it with gamma
    starts = np.zeros(K)
    counts = np.zeros((K, K))  # sum_t alpha_t(i) w_j / n_t, times A at the end
    extra = np.zeros((K, K))  # xi of the pairs summed in log space (already includes A)
    ll = np.zeros(n_seq)
    error = np.full(2, -1, dtype=np.int64)
    pred = np.empty(K)
    v = np.empty(K)
    w = np.empty(K)
    u = np.empty(K)
    beta = np.empty(K)
    beta_next = np.empty(K)
    lxi = np.empty((K, K))
    start = 0
    for s in range(n_seq):
        n = lengths[s]
        ws = weights[s]
        total = 0.0
        for t in range(start, start + n):
            if t == start:
                for k in range(K):
                    pred[k] = pi[k]
            else:
                _predict(gamma[t - 1], A, pred)
            log_c = _forward_step(pred, b[t], E[t], shift[t], gamma[t], v)
            if log_c == -math.inf:
                error[0] = s
                error[1] = t - start
                return gamma, starts, counts, ll, error
            total += shift[t] + log_c
        ll[s] = total

        # backward sweep; gamma_t overwrites alpha_t once the pair (t, t + 1) is counted
        last = start + n - 1
        for k in range(K):
            beta_next[k] = 1.0 / K
        for t in range(last, start - 1, -1):
            if t < last:
                # w = b_{t+1} beta_{t+1}; u = A w is the unnormalised beta_t
                for j in range(K):
                    w[j] = b[t + 1, j] * beta_next[j]
                z = 0.0
                nt = 0.0
                for i in range(K):
                    acc = 0.0
                    for j in range(K):
                        acc += A[i, j] * w[j]
                    u[i] = acc
                    z += acc
                    nt += gamma[t, i] * acc
                if nt >= TINY and z >= TINY:
                    scale = ws / nt
                    for i in range(K):
                        a = gamma[t, i] * scale
                        if a != 0.0:
                            for j in range(K):
                                counts[i, j] += a * w[j]
                else:
                    # log xi_t(i, j) = log alpha_t(i) + log A_ij + e_{t+1}(j) + log beta_{t+1}(j)
                    top = -math.inf
                    for j in range(K):
                        v[j] = (E[t + 1, j] - shift[t + 1]) + _safe_log(beta_next[j])
                    for i in range(K):
                        la = _safe_log(gamma[t, i])
                        for j in range(K):
                            lxi[i, j] = la + logA[i, j] + v[j]
                            if lxi[i, j] > top:
                                top = lxi[i, j]
                    if math.isfinite(top):
                        tot = 0.0
                        for i in range(K):
                            for j in range(K):
                                lxi[i, j] = math.exp(lxi[i, j] - top)
                                tot += lxi[i, j]
                        for i in range(K):
                            for j in range(K):
                                extra[i, j] += ws * lxi[i, j] / tot
                if z >= TINY:
                    for i in range(K):
                        beta[i] = u[i] / z
                else:
                    # beta_t(i) ∝ sum_j exp(log A_ij + e_{t+1}(j) + log beta_{t+1}(j)), in log space
                    for j in range(K):
                        v[j] = (E[t + 1, j] - shift[t + 1]) + _safe_log(beta_next[j])
                    for i in range(K):
                        top = -math.inf
                        for j in range(K):
                            if logA[i, j] + v[j] > top:
                                top = logA[i, j] + v[j]
                        if math.isfinite(top):
                            acc = 0.0
                            for j in range(K):
                                acc += math.exp(logA[i, j] + v[j] - top)
                            u[i] = top + math.log(acc)
                        else:
                            u[i] = -math.inf
                    _normalise_log(u, beta)
            else:
                for k in range(K):
                    beta[k] = beta_next[k]
            # gamma_t ∝ alpha_t * beta_t, in log space if the product underflows
            g = 0.0
            for k in range(K):
                u[k] = gamma[t, k] * beta[k]
                g += u[k]
            if g < TINY:
                for k in range(K):
                    u[k] = _safe_log(gamma[t, k]) + _safe_log(beta[k])
                _normalise_log(u, gamma[t])
            else:
                for k in range(K):
                    gamma[t, k] = u[k] / g
            for k in range(K):
                beta_next[k] = beta[k]
        for k in range(K):
            starts[k] += ws * gamma[start, k]
        start += n
    for i in range(K):
        for j in range(K):
            counts[i, j] = A[i, j] * counts[i, j] + extra[i, j]
    return gamma, starts, counts, ll, error


@_jit
def log_likelihood(E: Array, pi: Array, A: Array, lengths: Array) -> tuple[Array, Array]:
    """``log p(x_s)`` of every sequence by the forward pass alone, and ``error`` (2,)."""
    K = E.shape[1]
    n_seq = lengths.size
    ll = np.zeros(n_seq)
    error = np.full(2, -1, dtype=np.int64)
    b = np.empty(K)
    pred = np.empty(K)
    alpha = np.empty(K)
    v = np.empty(K)
    start = 0
    for s in range(n_seq):
        n = lengths[s]
        total = 0.0
        for t in range(start, start + n):
            m = E[t, 0]
            for k in range(1, K):
                if E[t, k] > m:
                    m = E[t, k]
            if not math.isfinite(m):
                m = 0.0
            for k in range(K):
                b[k] = math.exp(E[t, k] - m)
            if t == start:
                for k in range(K):
                    pred[k] = pi[k]
            else:
                _predict(alpha, A, pred)
            log_c = _forward_step(pred, b, E[t], m, alpha, v)
            if log_c == -math.inf:
                error[0] = s
                error[1] = t - start
                return ll, error
            total += m + log_c
        ll[s] = total
        start += n
    return ll, error


@_jit
def viterbi(E: Array, logpi: Array, logA: Array, lengths: Array) -> tuple[Array, Array, Array]:
    """Best paths ``(states (T,), log_prob (n_seq,), error (2,))``; ties to the lower index."""
    T, K = E.shape
    n_seq = lengths.size
    states = np.zeros(T, dtype=np.intp)
    log_prob = np.zeros(n_seq)
    error = np.full(2, -1, dtype=np.int64)
    back = np.empty((T, K), dtype=np.int32)
    delta = np.empty(K)
    nxt = np.empty(K)
    start = 0
    for s in range(n_seq):
        n = lengths[s]
        offset = 0.0  # the shifts (row maxima of E and of delta) taken out of delta so far
        for t in range(start, start + n):
            m = E[t, 0]
            for k in range(1, K):
                if E[t, k] > m:
                    m = E[t, k]
            if not math.isfinite(m):
                m = 0.0
            if t == start:
                for k in range(K):
                    nxt[k] = logpi[k] + (E[t, k] - m)
                    back[t, k] = 0
            else:
                for j in range(K):
                    best = delta[0] + logA[0, j]
                    arg = 0
                    for i in range(1, K):
                        cand = delta[i] + logA[i, j]
                        if cand > best:
                            best = cand
                            arg = i
                    back[t, j] = arg
                    nxt[j] = best + (E[t, j] - m)
            top = nxt[0]
            for k in range(1, K):
                if nxt[k] > top:
                    top = nxt[k]
            if not math.isfinite(top):
                error[0] = s
                error[1] = t - start
                return states, log_prob, error
            for k in range(K):
                delta[k] = nxt[k] - top
            offset += m + top
        last = start + n - 1
        # delta's maximum is 0 after the shift; the first state reaching it wins ties
        arg = 0
        for k in range(1, K):
            if delta[k] > delta[arg]:
                arg = k
        log_prob[s] = offset + delta[arg]
        states[last] = arg
        for t in range(last, start, -1):
            states[t - 1] = back[t, states[t]]
        start += n
    return states, log_prob, error
