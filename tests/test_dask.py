"""Dask arrays: the same fit as the in-memory array, locally, on a cluster, and after a crash."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import threadpoolctl
from threadpoolctl import threadpool_limits

import emkit
from emkit.sources import DaskSource, as_source
from emkit.sources.dask_arrays import active_client

from .test_sources import FAMILIES, N_ITER, assert_same_params, make_data, start_of

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

#: Seconds a cluster gets to start or to replace a killed worker before the test gives up.
CLUSTER_TIMEOUT = 60

#: BLAS threads the worker processes start with (Dask's own default is 1), so that the test can
#: see emkit pin them.
WORKER_BLAS_THREADS = 2
BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def blas_threads() -> int:
    """Threads of the BLAS libraries loaded in this process (run on the workers)."""
    infos = threadpoolctl.threadpool_info()
    return max([info["num_threads"] for info in infos if info["user_api"] == "blas"], default=0)


@pytest.fixture(autouse=True)
def one_blas_thread() -> Iterator[None]:
    """Tiny matrix solves are slower with a multi-threaded BLAS on a busy machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def fixed_fit(model: Any, X: Any, start: Any, **kwargs: Any) -> emkit.FitResult[Any]:
    with pytest.warns(emkit.ConvergenceWarning):
        return emkit.fit(model, X, init=start, max_iter=N_ITER, tol=0.0, **kwargs)


def test_local_scheduler_without_a_client() -> None:
    assert active_client() is None
    model, X = make_data("gaussian-full")
    start = start_of(model, X)
    reference = fixed_fit(model, X, start)
    result = fixed_fit(model, da.from_array(X, chunks=(450, 2)), start)
    assert_same_params(result.params, reference.params)
    np.testing.assert_allclose(result.history, reference.history, rtol=1e-10)
    recomputed = fixed_fit(model, DaskSource(da.from_array(X, chunks=1000), persist=False), start)
    assert_same_params(recomputed.params, reference.params)


@pytest.fixture(scope="module")
def thread_client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_cluster_fit_equals_the_array_fit(name: str, thread_client: Any) -> None:
    assert active_client() is thread_client
    model, X = make_data(name)
    start = start_of(model, X)
    reference = fixed_fit(model, X, start)
    for chunks in (1000, (333, -1), X.shape[0]):
        result = fixed_fit(model, da.from_array(X, chunks=chunks), start)
        assert_same_params(result.params, reference.params)


def test_string_init_draws_the_array_sample(thread_client: Any) -> None:
    model, X = make_data("poisson")
    kwargs: dict[str, Any] = {"random_state": 3, "max_iter": N_ITER, "tol": 0.0}
    with pytest.warns(emkit.ConvergenceWarning):
        reference = emkit.fit(model, X, **kwargs)
    with pytest.warns(emkit.ConvergenceWarning):
        result = emkit.fit(model, da.from_array(X, chunks=700), **kwargs)
    assert_same_params(result.params, reference.params)
    rng_a, rng_b = np.random.default_rng(0), np.random.default_rng(0)
    expected, _ = as_source(X).init_sample(rng_a, max_rows=40)
    got, _ = as_source(da.from_array(X, chunks=700)).init_sample(rng_b, max_rows=40)
    np.testing.assert_array_equal(got, expected)


def test_weights_and_labels_as_dask_or_numpy(thread_client: Any) -> None:
    model, X = make_data("bernoulli", n=2000)
    rng = np.random.default_rng(2)
    weights = rng.uniform(0.0, 2.0, X.shape[0])
    labels = np.where(rng.random(X.shape[0]) < 0.2, rng.integers(0, 3, X.shape[0]), -1)
    start = start_of(model, X)
    reference = fixed_fit(model, X, start, sample_weight=weights, labels=labels)
    dX = da.from_array(X, chunks=600)
    numpy_side = fixed_fit(model, dX, start, sample_weight=weights, labels=labels)
    dask_side = fixed_fit(
        model,
        dX,
        start,
        sample_weight=da.from_array(weights, chunks=250),
        labels=da.from_array(labels, chunks=900),
    )
    assert_same_params(numpy_side.params, reference.params)
    assert_same_params(dask_side.params, reference.params)
    assert dask_side.n_samples == pytest.approx(weights.sum(), rel=1e-12)


def test_float32_and_column_blocks(thread_client: Any) -> None:
    _, X = make_data("gaussian-diag")
    source = as_source(da.from_array(X.astype(np.float32), chunks=(500, 1)))
    assert isinstance(source, DaskSource)
    assert source.dtype == np.float32
    assert source.X.numblocks == (6, 1)
    assert source.init_sample(np.random.default_rng(0))[0].dtype == np.float32


def test_bad_blocks_raise_on_the_client(thread_client: Any) -> None:
    model, X = make_data("bernoulli")
    X[2100, 1] = 3.0
    with pytest.raises(ValueError, match=r"only 0 and 1.*rows 2000\.\.2999"):
        emkit.fit(model, da.from_array(X, chunks=1000))
    X[2100, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"only finite values; found nan at row 100, column 1.*rows 2000\.\.2999"
    ):
        emkit.fit(model, da.from_array(X, chunks=1000))
    with pytest.raises(ValueError, match="2-D"):
        as_source(da.zeros(5))
    with pytest.raises(ValueError, match="sample_weight"):
        as_source(da.from_array(X, chunks=1000), sample_weight=np.ones(3))


def test_incremental_em_visits_dask_blocks(thread_client: Any) -> None:
    from emkit.online import fit_incremental

    model, X = make_data("poisson", n=1200)
    start = start_of(model, X)
    reference = fit_incremental(model, X, init=start, chunk_size=400, max_sweeps=3, tol=0.0)
    result = fit_incremental(model, da.from_array(X, chunks=400), init=start, max_sweeps=3, tol=0.0)
    assert_same_params(result.params, reference.params)


def test_worker_processes_survive_a_killed_worker() -> None:
    """Serialisation to worker processes, and a worker killed mid-fit: same answer."""
    model, X = make_data("gaussian-full", n=4000)
    start = start_of(model, X)
    reference = fixed_fit(model, X, start)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            env={name: str(WORKER_BLAS_THREADS) for name in BLAS_VARIABLES},
        ) as cluster,
        distributed.Client(cluster, timeout=CLUSTER_TIMEOUT) as client,
    ):
        client.wait_for_workers(2, timeout=CLUSTER_TIMEOUT)
        assert set(client.run(blas_threads).values()) == {WORKER_BLAS_THREADS}
        dX = da.from_array(X, chunks=250)
        clean = fixed_fit(model, dX, start)
        assert_same_params(clean.params, reference.params)
        # Every worker that ran E-steps has pinned its BLAS to one thread per task thread.
        assert set(client.run(blas_threads).values()) == {1}

        killed: list[int] = []

        def kill_a_worker(state: emkit.IterationState[Any]) -> None:
            if state.iteration == 2 and not killed:
                pids = client.run(os.getpid)
                victim = sorted(pids.values())[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        crashed = fixed_fit(model, dX, start, callbacks=[kill_a_worker])
        assert killed
        assert_same_params(crashed.params, reference.params)
        np.testing.assert_allclose(crashed.history, reference.history, rtol=1e-10)


def test_estimators_fit_dask_arrays(thread_client: Any) -> None:
    _, X = make_data("gaussian-diag")
    reference = emkit.GaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
    fitted = emkit.GaussianMixture(3, covariance_type="diag", random_state=0).fit(
        da.from_array(X, chunks=700)
    )
    assert fitted.n_iter_ == reference.n_iter_
    assert_same_params(fitted.result_.params, reference.result_.params)
