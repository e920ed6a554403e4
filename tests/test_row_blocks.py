"""The seam for rows that belong together: every source hands a RowBlocks model whole blocks.

A small recording model (a one-parameter model whose E-step checks and records the block sizes
it is given) runs through every source; the chunk planner is checked on random block sizes.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import emkit
from emkit._backend import Array
from emkit.protocols import RowBlocks
from emkit.sources import ArraySource, ChunkSource, MemmapSource, as_source
from emkit.sources.chunking import chunk_spans
from tests.plugin_models import StudentTMixture

#: Block sizes used throughout: different lengths, one longer than the small chunk budgets.
LENGTHS = (5, 1, 17, 3, 40, 2, 9)

#: Rows per chunk that force many chunks (smaller than the longest block).
SMALL_CHUNK = 12


@attrs.frozen(eq=False)
class _BlockMean:
    """Mean of the block means: its statistics need whole blocks, so a cut block shows."""

    seen: list[tuple[int, ...]] = attrs.field(factory=list)

    def default_lengths(self, n_samples: int) -> Array:
        return np.array([n_samples])

    def validate_data(self, X: Array) -> Array:
        return X

    def init_params(self, X: Array, rng: Any, method: str, weights: Any = None) -> float:
        return 0.0

    def validate_params(self, params: Any, n_features: int) -> float:
        return float(params)

    def e_step(
        self,
        X: Array,
        params: float,
        weights: Array | None = None,
        labels: Array | None = None,
        lengths: Array | None = None,
    ) -> tuple[Any, float]:
        assert lengths is not None
        assert int(np.sum(lengths)) == X.shape[0]
        self.seen.append(tuple(int(n) for n in lengths))
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        block_means = np.add.reduceat(X[:, 0], starts) / lengths
        return _Sums(np.array([block_means.sum()]), np.array([float(len(lengths))])), 0.0

    def m_step(self, stats: _Sums) -> float:
        return float(stats.total[0] / stats.count[0])

    def log_prior(self, params: float) -> float:
        return 0.0

    def n_parameters(self, n_features: int) -> int:
        return 1


@attrs.frozen(eq=False)
class _Sums:
    total: Array
    count: Array


def _data() -> Array:
    rng = np.random.default_rng(0)
    return rng.normal(size=(sum(LENGTHS), 2))


def _expected_mean(X: Array) -> float:
    starts = np.concatenate([[0], np.cumsum(LENGTHS)[:-1]])
    return float(np.mean(np.add.reduceat(X[:, 0], starts) / np.array(LENGTHS)))


def _blocks_seen(model: _BlockMean) -> list[int]:
    return [n for chunk in model.seen for n in chunk]


def test_the_recording_model_is_row_blocks() -> None:
    assert isinstance(_BlockMean(), RowBlocks)
    # A mixture takes groups when given; a model without the capability refuses them.
    assert isinstance(emkit.FiniteMixture(emkit.Poisson(), 2), RowBlocks)
    assert not isinstance(StudentTMixture(2), RowBlocks)


@pytest.mark.parametrize("chunk_size", [None, SMALL_CHUNK, 1])
def test_array_and_memmap_sources_never_cut_a_block(chunk_size: int | None, tmp_path: Path) -> None:
    X = _data()
    path = tmp_path / "x.npy"
    np.save(path, X)
    for source in (
        ArraySource(X, chunk_size=chunk_size, lengths=LENGTHS),
        MemmapSource(path, chunk_size=chunk_size, lengths=LENGTHS),
    ):
        model = _BlockMean()
        params, _ = source.expectation(model, 0.0)
        assert _blocks_seen(model) == list(LENGTHS)
        assert model.m_step(params) == pytest.approx(_expected_mean(X), rel=1e-12)
        if chunk_size is not None:
            # Every chunk is within the budget unless it is one block longer than the budget.
            assert all(sum(chunk) <= chunk_size or len(chunk) == 1 for chunk in model.seen)


def test_a_chunk_list_carries_blocks_per_chunk_and_defaults_to_one_block_per_chunk() -> None:
    X = _data()
    ends = np.cumsum(LENGTHS)
    first, second = int(ends[2]), int(ends[4])
    chunks = [
        (X[:first], None, None, LENGTHS[:3]),
        X[first:second],  # no lengths: the model's default, one block
        (X[second:], None, None, LENGTHS[5:]),
    ]
    model = _BlockMean()
    ChunkSource(chunks, chunk_size=SMALL_CHUNK).expectation(model, 0.0)
    assert _blocks_seen(model) == [*LENGTHS[:3], second - first, *LENGTHS[5:]]


def test_an_array_without_lengths_is_the_models_default_block() -> None:
    X = _data()
    model = _BlockMean()
    ArraySource(X, chunk_size=SMALL_CHUNK).expectation(model, 0.0)
    assert model.seen == [(X.shape[0],)]


def test_dask_blocks_are_aligned_to_block_ends() -> None:
    da = pytest.importorskip("dask.array")
    X = _data()
    dask_X = da.from_array(X, chunks=(SMALL_CHUNK, 2))
    model = _BlockMean()
    source = emkit.DaskSource(dask_X, lengths=LENGTHS, persist=False)
    stats, _ = source.expectation(model, 0.0)
    assert sorted(_blocks_seen(model)) == sorted(LENGTHS)
    assert model.m_step(stats) == pytest.approx(_expected_mean(X), rel=1e-12)
    # Without lengths the model's default (one block) is aligned when the model is fitted.
    whole = _BlockMean()
    emkit.DaskSource(dask_X, persist=False).expectation(whole, 0.0)
    assert whole.seen == [(X.shape[0],)]


def test_fit_passes_lengths_and_a_model_of_independent_rows_refuses_them() -> None:
    X = _data()
    result = emkit.fit(_BlockMean(), X, lengths=LENGTHS, init=0.0, max_iter=1)
    assert result.params == pytest.approx(_expected_mean(X), rel=1e-12)
    with pytest.raises(ValueError, match="treats rows as independent"):
        emkit.fit(StudentTMixture(2), X, lengths=LENGTHS)


@pytest.mark.parametrize(
    ("lengths", "message"),
    [
        ([5, 5], "must sum to the number of rows"),
        ([sum(LENGTHS) - 1, 0, 1], "positive sizes"),
        ([[1, 2]], "1-D"),
        ([1.5, sum(LENGTHS) - 1.5], "integers"),
    ],
)
def test_bad_lengths_are_refused_with_the_rule(lengths: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        as_source(_data(), lengths=lengths)


def test_lengths_cannot_be_given_beside_a_chunk_stream_or_a_source() -> None:
    X = _data()
    with pytest.raises(ValueError, match="lengths"):
        as_source([X], lengths=[X.shape[0]])
    with pytest.raises(ValueError, match="lengths"):
        as_source(ArraySource(X), lengths=[X.shape[0]])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=40),
    st.integers(min_value=1, max_value=50),
)
def test_chunk_spans_cover_the_rows_with_whole_blocks(lengths: list[int], size: int) -> None:
    blocks = np.array(lengths)
    n = int(blocks.sum())
    spans = list(chunk_spans(blocks, n, size))
    assert spans[0][0] == 0
    assert spans[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    assert [int(x) for _, _, part in spans for x in part] == lengths
    for start, stop, part in spans:
        assert stop - start == int(part.sum())
        # Within the budget, unless a single block is longer than it.
        assert stop - start <= size or len(part) == 1
    # Greedy: the next block would not have fitted into the chunk.
    for (start, stop, _), (_, _, following) in itertools.pairwise(spans):
        assert stop - start + int(following[0]) > size
