"""Data sources: the same fit from an array, any chunking of it, and a memory map of it."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

import emkit
from emkit._backend import Array
from emkit.sources import (
    ArraySource,
    ChunkSource,
    MemmapSource,
    as_source,
)
from tests.plugin_models import StudentTMixture, student_t_data

#: Parameters from different sources agree to this relative tolerance: the sources only add the
#: same per-row terms in a different order, so they differ by rounding (about 1e-15 per pass),
#: which a contracting EM map does not amplify.
SOURCE_RTOL = 1e-10

#: Absolute floor of that comparison, for parameters that are (near) zero.
SOURCE_ATOL = 1e-12

#: Iterations of every equality fit: enough for parameters to move far from the start.
N_ITER = 15

#: The memory a memmap pass allocates, as a multiple of one block's bytes: the block copy, its
#: E-step temporaries (log-probabilities, responsibilities, centred rows) and slack.
BLOCK_MEMORY_FACTOR = 12

#: A uniform sample of n rows of 0..N-1 has a mean within this many standard errors of (N-1)/2.
SAMPLE_MEAN_Z = 5.0

FAMILIES = {
    "gaussian-full": lambda: emkit.Gaussian("full"),
    "gaussian-tied": lambda: emkit.Gaussian("tied"),
    "gaussian-diag": lambda: emkit.Gaussian("diag"),
    "gaussian-spherical": lambda: emkit.Gaussian("spherical"),
    "bernoulli": lambda: emkit.Bernoulli(pseudo_count=0.5),
    "poisson": lambda: emkit.Poisson(prior_strength=1.0, prior_rate=2.0),
}


@pytest.fixture(autouse=True)
def one_blas_thread() -> Iterator[None]:
    """Tiny matrix solves are slower with a multi-threaded BLAS on a busy machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def make_data(name: str, n: int = 3000, seed: int = 0) -> tuple[Any, Array]:
    """A 3-component mixture of the named family and data drawn from it."""
    rng = np.random.default_rng(seed)
    model = emkit.FiniteMixture(FAMILIES[name](), 3, weight_concentration=2.0)
    if name == "bernoulli":
        X = (rng.random((n, 6)) < rng.uniform(0.1, 0.9, (3, 6))[rng.integers(0, 3, n)]).astype(
            float
        )
    elif name == "poisson":
        X = rng.poisson(rng.uniform(0.5, 8.0, (3, 4))[rng.integers(0, 3, n)]).astype(float)
    else:
        centres = np.array([[0.0, 0.0, 0.0], [4.0, 0.0, 1.0], [0.0, 4.0, -1.0]])
        X = (
            centres[rng.integers(0, 3, n)]
            + rng.normal(size=(n, 3)) @ rng.normal(0, 0.6, (3, 3))
            + 1e3
        )
    return model, X


def leaves(params: Any) -> list[Array]:
    """The arrays of a parameter tree, for comparisons."""
    if isinstance(params, emkit.MixtureParams):
        return [params.weights, *leaves(params.components)]
    if isinstance(params, emkit.GaussianParams):
        return [params.means, params.covariances]
    return [params.mean]


def assert_same_params(a: Any, b: Any) -> None:
    for x, y in zip(leaves(a), leaves(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=SOURCE_RTOL, atol=SOURCE_ATOL)


def fixed_fit(model: Any, X: Any, start: Any, **kwargs: Any) -> emkit.FitResult[Any]:
    with pytest.warns(emkit.ConvergenceWarning):
        return emkit.fit(model, X, init=start, max_iter=N_ITER, tol=0.0, **kwargs)


def start_of(model: Any, X: Array) -> Any:
    return model.init_params(X, np.random.default_rng(1), "random_from_data")


def uneven_chunks(X: Array, cuts: tuple[int, ...] = (1, 700, 701, 2500)) -> list[Array]:
    return np.split(X, list(cuts))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_source_gives_the_array_fit(name: str, tmp_path: Path) -> None:
    model, X = make_data(name)
    start = start_of(model, X)
    reference = fixed_fit(model, X, start)
    path = tmp_path / "X.npy"
    np.save(path, X)
    chunks = uneven_chunks(X)
    for data in (
        chunks,
        tuple(chunks),
        lambda: iter(chunks),
        str(path),
        path,
        np.load(path, mmap_mode="r"),
        ArraySource(X, chunk_size=333),
    ):
        result = fixed_fit(model, data, start)
        assert_same_params(result.params, reference.params)
        np.testing.assert_allclose(result.history, reference.history, rtol=SOURCE_RTOL)


@pytest.mark.parametrize("name", ["gaussian-full", "bernoulli", "poisson"])
def test_weights_and_labels_travel_with_every_source(name: str, tmp_path: Path) -> None:
    model, X = make_data(name, n=1500)
    rng = np.random.default_rng(3)
    weights = rng.uniform(0.0, 3.0, X.shape[0])
    labels = np.where(rng.random(X.shape[0]) < 0.1, rng.integers(0, 3, X.shape[0]), -1)
    start = start_of(model, X)
    reference = fixed_fit(model, X, start, sample_weight=weights, labels=labels)
    cuts = [100, 900]
    chunked = list(
        zip(np.split(X, cuts), np.split(weights, cuts), np.split(labels, cuts), strict=True)
    )
    np.save(tmp_path / "X.npy", X)
    assert_same_params(fixed_fit(model, chunked, start).params, reference.params)
    memmap = fixed_fit(model, tmp_path / "X.npy", start, sample_weight=weights, labels=labels)
    assert_same_params(memmap.params, reference.params)


@settings(max_examples=20, deadline=None)
@given(cuts=st.lists(st.integers(1, 799), max_size=6, unique=True).map(sorted))
def test_any_chunking_gives_the_same_fit(cuts: list[int]) -> None:
    model, X = make_data("gaussian-full", n=800, seed=5)
    start = start_of(model, X)
    reference = fixed_fit(model, X, start)
    assert_same_params(fixed_fit(model, np.split(X, cuts), start).params, reference.params)


def test_string_init_starts_alike_on_small_data(tmp_path: Path) -> None:
    model, X = make_data("gaussian-diag")
    np.save(tmp_path / "X.npy", X)
    kwargs: dict[str, Any] = {"random_state": 4, "max_iter": N_ITER, "tol": 0.0}
    with pytest.warns(emkit.ConvergenceWarning):
        reference = emkit.fit(model, X, **kwargs)
    for data in (uneven_chunks(X), tmp_path / "X.npy"):
        with pytest.warns(emkit.ConvergenceWarning):
            assert_same_params(emkit.fit(model, data, **kwargs).params, reference.params)


def test_random_access_sources_draw_the_array_sample(tmp_path: Path) -> None:
    _, X = make_data("poisson")
    np.save(tmp_path / "X.npy", X)
    expected, _ = ArraySource(X).init_sample(np.random.default_rng(7), max_rows=50)
    got, _ = MemmapSource(tmp_path / "X.npy").init_sample(np.random.default_rng(7), max_rows=50)
    np.testing.assert_array_equal(got, expected)


def test_reservoir_sample_is_uniform_bounded_and_chunking_free() -> None:
    n, m = 20_000, 500
    X = np.arange(n, dtype=float)[:, None]
    weights = np.arange(n, dtype=float) + 1.0
    one = ChunkSource([(X[:7000], weights[:7000]), (X[7000:], weights[7000:])])
    many = ChunkSource(list(zip(np.array_split(X, 37), np.array_split(weights, 37), strict=True)))
    sample, sample_weights = one.init_sample(np.random.default_rng(0), max_rows=m)
    other, _ = many.init_sample(np.random.default_rng(0), max_rows=m)
    assert sample.shape == (m, 1)
    np.testing.assert_array_equal(sample, other)
    assert len(np.unique(sample)) == m  # without replacement
    assert sample_weights is not None
    np.testing.assert_array_equal(sample_weights, sample[:, 0] + 1.0)
    standard_error = np.sqrt((n**2 - 1) / 12.0 / m)
    assert abs(sample.mean() - (n - 1) / 2.0) < SAMPLE_MEAN_Z * standard_error


def test_float32_stays_float32(tmp_path: Path) -> None:
    _, X = make_data("gaussian-diag")
    X32 = X.astype(np.float32)
    np.save(tmp_path / "X.npy", X32)
    for data in (uneven_chunks(X32), tmp_path / "X.npy"):
        source = as_source(data)
        assert source.dtype == np.float32  # type: ignore[attr-defined]
        sample, _ = source.init_sample(np.random.default_rng(0))
        assert sample.dtype == np.float32


def test_memmap_pass_allocates_about_one_block(tmp_path: Path) -> None:
    n, d, block = 200_000, 8, 5_000
    rng = np.random.default_rng(0)
    np.save(tmp_path / "X.npy", rng.normal(size=(n, d)))
    model = emkit.FiniteMixture(emkit.Gaussian("diag"), 3)
    source = MemmapSource(tmp_path / "X.npy", chunk_size=block)
    params = model.init_params(source.init_sample(rng, 1000)[0], rng, "random_from_data")
    tracemalloc.start()
    try:
        source.expectation(model, params)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < BLOCK_MEMORY_FACTOR * block * d * 8
    assert peak < n * d * 8 / 4  # far below the file size


def test_domain_is_checked_chunk_by_chunk(tmp_path: Path) -> None:
    model, X = make_data("bernoulli")
    X[1234, 2] = 2.0
    np.save(tmp_path / "X.npy", X)
    with pytest.raises(ValueError, match=r"only 0 and 1.*rows 701\.\.2499"):
        emkit.fit(model, uneven_chunks(X))
    with pytest.raises(ValueError, match=r"only 0 and 1.*rows 1000\.\.1499"):
        emkit.fit(model, tmp_path / "X.npy", chunk_size=500)


def test_non_finite_chunk_names_the_chunk() -> None:
    model, X = make_data("gaussian-full")
    X[800, 1] = np.inf
    with pytest.raises(ValueError, match=r"X \(chunk 3, from row 701\).*finite"):
        emkit.fit(model, uneven_chunks(X))


def test_nan_for_a_model_without_missing_values_names_the_chunk(tmp_path: Path) -> None:
    # A plugin model without the MissingValues capability: every source refuses a NaN with
    # the message a NaN always had, and names where it is.
    X, _, _ = student_t_data(n_samples=2500)
    X[800, 1] = np.nan
    model = StudentTMixture(3)
    message = r"only finite values; found nan at row 99, column 1 \(StudentTMixture does not"
    with pytest.raises(ValueError, match=message + r".*rows 701\.\.2499"):
        emkit.fit(model, uneven_chunks(X))
    np.save(tmp_path / "X.npy", X)
    with pytest.raises(ValueError, match=r"found nan at row 300, column 1.*rows 500\.\.999"):
        emkit.fit(model, tmp_path / "X.npy", chunk_size=500)
    with pytest.raises(ValueError, match=r"found nan at row 800, column 1 \(StudentTMixture"):
        emkit.fit(model, X)


def test_chunks_that_change_between_passes_are_refused() -> None:
    model, X = make_data("gaussian-diag")
    calls = {"n": 0}

    def shrinking() -> Any:
        calls["n"] += 1
        return iter([X[: 1000 - calls["n"]]])

    with pytest.raises(ValueError, match="changed between passes"):
        emkit.fit(model, shrinking, max_iter=3)


def test_mismatched_chunk_columns_are_refused() -> None:
    with pytest.raises(ValueError, match="3 columns like the first"):
        ChunkSource([np.zeros((4, 3)), np.zeros((4, 2))]).validate(
            emkit.FiniteMixture(emkit.Gaussian(), 1)
        )


def test_one_shot_iterator_is_refused_with_advice() -> None:
    _, X = make_data("gaussian-full")
    model = emkit.FiniteMixture(emkit.Gaussian(), 2)
    with pytest.raises(TypeError, match=r"one-shot iterator.*fit_online"):
        emkit.fit(model, iter(uneven_chunks(X)))


def test_paths_must_name_npy_files(tmp_path: Path) -> None:
    model = emkit.FiniteMixture(emkit.Gaussian(), 2)
    with pytest.raises(ValueError, match=r"\.npy"):
        emkit.fit(model, str(tmp_path / "X.csv"))
    with pytest.raises(ValueError, match=r"existing \.npy file"):
        emkit.fit(model, tmp_path / "missing.npy")
    np.save(tmp_path / "one_d.npy", np.zeros(5))
    with pytest.raises(ValueError, match="2-D"):
        emkit.fit(model, tmp_path / "one_d.npy")


def test_chunk_streams_take_weights_in_the_chunks() -> None:
    _, X = make_data("gaussian-full")
    with pytest.raises(ValueError, match="in the chunks"):
        as_source(uneven_chunks(X), sample_weight=np.ones(X.shape[0]))
    with pytest.raises(ValueError, match=r"weights of chunk 1 must be >= 0"):
        ChunkSource([(X[:10], None), (X[10:20], -np.ones(10))]).validate(
            emkit.FiniteMixture(emkit.Gaussian(), 1)
        )


def test_nested_lists_and_lists_of_rows_stay_arrays() -> None:
    assert isinstance(as_source([[0.0, 1.0], [2.0, 3.0]]), ArraySource)
    assert isinstance(as_source([np.zeros(2), np.ones(2)]), ArraySource)
    assert isinstance(as_source([np.zeros((2, 2)), np.ones((3, 2))]), ChunkSource)


def test_dataframe_chunks_are_chunks() -> None:
    pd = pytest.importorskip("pandas")
    model, X = make_data("poisson")
    frames = [pd.DataFrame(part) for part in uneven_chunks(X)]
    assert isinstance(as_source(frames), ChunkSource)
    start = start_of(model, X)
    assert_same_params(fixed_fit(model, frames, start).params, fixed_fit(model, X, start).params)


def test_memmap_names_the_block_of_a_non_finite_value(tmp_path: Path) -> None:
    model, X = make_data("gaussian-diag")
    X[2600, 0] = np.inf
    np.save(tmp_path / "X.npy", X)
    with pytest.raises(ValueError, match=r"X \(rows 2500\.\.2999\)` must contain only finite"):
        emkit.fit(model, tmp_path / "X.npy", chunk_size=500)


def test_source_kind_reads_no_rows(tmp_path: Path) -> None:
    from emkit.sources import source_kind

    X = np.zeros((3, 2))
    np.save(tmp_path / "X.npy", X)
    assert source_kind(X) == "array"
    assert source_kind([[1.0, 2.0]]) == "array"
    assert source_kind(ArraySource(X)) == "source"
    assert source_kind(tmp_path / "X.npy") == "memmap"
    assert source_kind(np.load(tmp_path / "X.npy", mmap_mode="r")) == "memmap"
    assert source_kind([X, X]) == "chunks"
    assert source_kind(lambda: iter([X])) == "chunks"
    assert source_kind(iter([X])) == "iterator"


@pytest.mark.parametrize(
    "estimator",
    [
        emkit.GaussianMixture(n_components=3, random_state=0, tol=1e-8),
        emkit.PoissonMixture(n_components=3, random_state=0, tol=1e-8),
    ],
    ids=["gaussian", "poisson"],
)
def test_estimators_fit_paths_and_chunks(estimator: Any, tmp_path: Path) -> None:
    name = "poisson" if isinstance(estimator, emkit.PoissonMixture) else "gaussian-full"
    _, X = make_data(name)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, X.shape[0])
    np.save(tmp_path / "X.npy", X)
    reference = clone_of(estimator).fit(X, sample_weight=weights)
    cuts = [1000, 2000]
    chunked = list(zip(np.split(X, cuts), np.split(weights, cuts), strict=True))
    for data in (chunked, tmp_path / "X.npy"):
        kwargs = {} if data is chunked else {"sample_weight": weights}
        fitted = clone_of(estimator).fit(data, **kwargs)
        assert fitted.n_iter_ == reference.n_iter_
        assert_same_params(fitted.result_.params, reference.result_.params)
        assert fitted.lower_bound_ == pytest.approx(reference.lower_bound_, rel=SOURCE_RTOL)


def clone_of(estimator: Any) -> Any:
    return type(estimator)(**estimator.get_params())
