"""A hidden Markov model fitted from every source: the same fit, and no chunk cuts a sequence."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import emkit
from emkit import HiddenMarkovModel, HMMParams
from emkit.sources import ArraySource, ChunkSource, MemmapSource
from tests.plugin_models import StudentTMixture

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

#: Fits from different sources must agree to this (log-likelihood per frame and parameters).
SOURCE_RTOL = 1e-10
SOURCE_ATOL = 1e-10

#: EM iterations of the compared fits (a fixed count: tol=0).
N_ITER = 6

#: Iterations of the incremental fit and the batch fit it is compared with.
LONG_ITER = 300

#: Incremental and batch EM converge to the same optimum, up to their stopping rules.
INCREMENTAL_RTOL = 1e-4

#: Sequences of different lengths; the 400-frame one is longer than the small chunk budget.
LENGTHS = np.array([37, 120, 64, 400, 18, 91, 150, 55])

#: A chunk budget (rows) that forces many chunks and is shorter than the longest sequence.
SMALL_CHUNK = 100


@pytest.fixture(autouse=True)
def one_blas_thread() -> Iterator[None]:
    with threadpool_limits(limits=1, user_api="blas"):
        yield


class RecordingModel:
    """A hidden Markov model that records the ``lengths`` every E-step receives."""

    def __init__(self, model: HiddenMarkovModel[Any, Any]) -> None:
        self.model = model
        self.seen: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def default_lengths(self, n_samples: int) -> Any:
        return self.model.default_lengths(n_samples)

    def e_step(
        self, X: Any, params: Any, weights: Any = None, labels: Any = None, **kw: Any
    ) -> Any:
        lengths = kw.get("lengths")
        self.seen.append(np.array([X.shape[0]]) if lengths is None else np.asarray(lengths))
        return self.model.e_step(X, params, weights, labels, **kw)


def problem(kind: str) -> tuple[HiddenMarkovModel[Any, Any], Any, HMMParams[Any]]:
    """A model, sequences of ``LENGTHS`` drawn from a known HMM, and a start from a sample."""
    rng = np.random.default_rng(0)
    K = 3
    transmat = np.array([[0.8, 0.15, 0.05], [0.1, 0.8, 0.1], [0.2, 0.1, 0.7]])
    if kind == "gaussian":
        model = HiddenMarkovModel(emkit.Gaussian("full"), K)
        emission: Any = emkit.GaussianParams(
            np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 3.0]]), np.stack([np.eye(2)] * K)
        )
    else:
        model = HiddenMarkovModel(emkit.Poisson(), K)
        emission = emkit.MeanParams(np.array([[1.0, 4.0], [6.0, 2.0], [12.0, 9.0]]))
    truth = HMMParams(np.array([0.5, 0.3, 0.2]), transmat, emission)
    X, _ = model.sample(truth, int(LENGTHS.sum()), rng, lengths=LENGTHS)
    # The start every source gets: the model's own initialisation on the same sample of frames.
    start = model.init_params(X[rng.choice(X.shape[0], 300, replace=False)], rng)
    return model, X, start


def fixed_fit(model: Any, X: Any, start: Any, **kwargs: Any) -> emkit.FitResult[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", emkit.ConvergenceWarning)
        return emkit.fit(model, X, init=start, max_iter=N_ITER, tol=0.0, order="start", **kwargs)


def assert_same_fit(result: emkit.FitResult[Any], reference: emkit.FitResult[Any]) -> None:
    n = reference.n_samples
    np.testing.assert_allclose(
        result.history / n, reference.history / n, rtol=SOURCE_RTOL, atol=SOURCE_ATOL
    )
    got, want = result.params, reference.params
    np.testing.assert_allclose(got.startprob, want.startprob, rtol=SOURCE_RTOL, atol=SOURCE_ATOL)
    np.testing.assert_allclose(got.transmat, want.transmat, rtol=SOURCE_RTOL, atol=SOURCE_ATOL)
    for name in ("means", "covariances", "mean"):
        if hasattr(want.emission, name):
            np.testing.assert_allclose(
                getattr(got.emission, name),
                getattr(want.emission, name),
                rtol=SOURCE_RTOL,
                atol=SOURCE_ATOL,
                err_msg=name,
            )


def assert_whole_sequences(seen: list[Any], name: str) -> None:
    """Every E-step got a run of consecutive whole sequences, and each pass saw all of them.

    Dask runs its blocks in any order, so a pass is compared as a multiset; the sizes in
    ``LENGTHS`` are all different, so a run is found by its first size.
    """
    for lengths in seen:
        first = int(np.flatnonzero(lengths[0] == LENGTHS)[0])
        np.testing.assert_array_equal(lengths, LENGTHS[first : first + lengths.size], err_msg=name)
    everything = np.concatenate(seen)
    passes = everything.size // LENGTHS.size
    assert passes >= N_ITER, name
    np.testing.assert_array_equal(
        np.sort(everything), np.sort(np.tile(LENGTHS, passes)), err_msg=name
    )


def chunk_list_one_sequence_each(X: Any) -> list[Any]:
    return np.split(X, np.cumsum(LENGTHS)[:-1])


def chunk_list_several_sequences(X: Any) -> list[Any]:
    """Chunks of 3, 1 and 4 sequences as ``(X_i, weights_i, labels_i, lengths_i)``."""
    groups = [LENGTHS[:3], LENGTHS[3:4], LENGTHS[4:]]
    chunks, start = [], 0
    for lengths in groups:
        stop = start + int(lengths.sum())
        chunks.append((X[start:stop], None, None, lengths))
        start = stop
    return chunks


def sources(X: Any, tmp_path: Path) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Every way to hand emkit the same sequences: (data, extra keyword arguments of fit)."""
    path = tmp_path / "sequences.npy"
    np.save(path, X)
    return {
        "array, small chunks": (X, {"lengths": LENGTHS, "chunk_size": SMALL_CHUNK}),
        "ArraySource, one chunk": (ArraySource(X, lengths=LENGTHS, chunk_size=X.shape[0]), {}),
        "npy path": (str(path), {"lengths": LENGTHS}),
        "memmap, small chunks": (MemmapSource(path, lengths=LENGTHS, chunk_size=SMALL_CHUNK), {}),
        "chunk list, one sequence each": (chunk_list_one_sequence_each(X), {}),
        "chunk list, several sequences each": (chunk_list_several_sequences(X), {}),
        "chunk list, small chunk_size": (
            ChunkSource(chunk_list_several_sequences(X), chunk_size=SMALL_CHUNK),
            {},
        ),
        "dask, blocks cutting sequences": (
            da.from_array(X, chunks=(170, -1)),
            {"lengths": LENGTHS},
        ),
    }


@pytest.mark.parametrize("kind", ["gaussian", "poisson"])
def test_every_source_gives_the_same_fit(kind: str, tmp_path: Path) -> None:
    model, X, start = problem(kind)
    reference = fixed_fit(model, X, start, lengths=LENGTHS)
    with dask.config.set(scheduler="threads"):
        for name, (data, kwargs) in sources(X, tmp_path).items():
            recording = RecordingModel(model)
            result = fixed_fit(recording, data, start, **kwargs)
            assert result.n_samples == LENGTHS.sum(), name
            assert_same_fit(result, reference)
            assert_whole_sequences(recording.seen, name)
            passes = np.concatenate(recording.seen).size // LENGTHS.size
            if "small" in name:
                sizes = [int(lengths.sum()) for lengths in recording.seen]
                assert max(sizes) == LENGTHS.max(), name  # the long sequence: a chunk of its own
                assert len(recording.seen) > 2 * passes, name


def test_incremental_em_runs_on_whole_sequences() -> None:
    model, X, start = problem("poisson")
    recording = RecordingModel(model)
    incremental = emkit.fit(
        recording,
        X,
        lengths=LENGTHS,
        init=start,
        schedule="incremental",
        chunk_size=SMALL_CHUNK,
        max_iter=LONG_ITER,
        tol=1e-10,
        order="start",
    )
    seen = np.concatenate(recording.seen)
    np.testing.assert_array_equal(seen[: LENGTHS.size * 3], np.tile(LENGTHS, 3))
    assert len(recording.seen) > 3
    batch = emkit.fit(
        model, X, lengths=LENGTHS, init=start, max_iter=LONG_ITER, tol=1e-10, order="start"
    )
    np.testing.assert_allclose(
        incremental.log_likelihood, batch.log_likelihood, rtol=INCREMENTAL_RTOL
    )
    np.testing.assert_allclose(
        incremental.params.transmat, batch.params.transmat, atol=INCREMENTAL_RTOL * 100
    )
    again = emkit.fit_incremental(
        model,
        ArraySource(X, lengths=LENGTHS, chunk_size=SMALL_CHUNK),
        init=start,
        max_sweeps=LONG_ITER,
        tol=1e-10,
    )
    np.testing.assert_allclose(again.log_likelihood, incremental.log_likelihood, rtol=SOURCE_RTOL)


#: Online EM's stochastic approximation ends within this much log-likelihood per frame of batch
#: EM's fixed point on these data (a few passes of mini-batches of whole sequences).
ONLINE_LL_ATOL = 0.02


def test_online_em_takes_batches_of_whole_sequences() -> None:
    model, X, start = problem("poisson")
    recording = RecordingModel(model)
    ends = np.concatenate([[0], np.cumsum(LENGTHS)])
    # Mini-batches of two sequences each, four passes over the data.
    batches = [
        (X[ends[i] : ends[i + 2]], None, LENGTHS[i : i + 2])
        for _ in range(4)
        for i in range(0, LENGTHS.size, 2)
    ]
    online = emkit.fit_online(recording, batches, init=start)
    seen = np.concatenate(recording.seen)
    np.testing.assert_array_equal(seen[: LENGTHS.size], LENGTHS)
    batch = emkit.fit(model, X, lengths=LENGTHS, init=start, max_iter=LONG_ITER, order="start")
    per_frame = model.log_likelihood(X, online.params, LENGTHS).sum() / X.shape[0]
    assert per_frame == pytest.approx(batch.log_likelihood / X.shape[0], abs=ONLINE_LL_ATOL)
    # online_step on one batch: the same as fit_online's first step.
    state = emkit.online.start_online(model, X[:37], init=start)
    stepped = emkit.online.online_step(model, state, X[: ends[2]], None, LENGTHS[:2])
    assert stepped.n_seen == ends[2]


def test_lengths_are_refused_for_a_model_of_independent_rows() -> None:
    X = np.random.default_rng(0).normal(size=(100, 2))
    model = StudentTMixture(2)
    with pytest.raises(ValueError, match=r"`lengths` were given.*StudentTMixture.*independent"):
        emkit.fit(model, X, lengths=[50, 50])


def test_lengths_that_do_not_sum_to_the_rows_are_refused(tmp_path: Path) -> None:
    model, X, start = problem("poisson")
    bad = LENGTHS.copy()
    bad[2] += 5
    message = rf"`lengths` must sum to the number of rows of X \({X.shape[0]}\); got {bad.sum()}"
    with pytest.raises(ValueError, match=message):
        emkit.fit(model, X, lengths=bad, init=start, max_iter=1)
    with pytest.raises(ValueError, match=message):
        ArraySource(X, lengths=bad)
    path = tmp_path / "sequences.npy"
    np.save(path, X)
    with pytest.raises(ValueError, match=message):
        MemmapSource(path, lengths=bad)
    with pytest.raises(ValueError, match=message):
        emkit.fit(model, da.from_array(X, chunks=100), lengths=bad, init=start, max_iter=1)
