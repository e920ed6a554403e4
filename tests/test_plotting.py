"""emkit.plotting: every figure renders to a valid PNG and draws what it promises."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import emkit
from emkit import plotting
from emkit.mixture import FiniteMixture

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: A blank canvas saved at dpi 60 is about 1.2 kB; anything with axes, ticks and marks is more.
#: (What is drawn is checked on the Axes; this only rules out an empty or truncated file.)
MIN_PNG_BYTES = 2_000

#: Ellipse geometry is computed from a 2x2 eigendecomposition: agreement to rounding error.
GEOMETRY_RTOL = 1e-9

K = 3

# Several fits stop after a few iterations on purpose, to keep the module fast.
pytestmark = pytest.mark.filterwarnings("ignore::emkit.ConvergenceWarning")


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def faithful() -> np.ndarray:
    return emkit.datasets.load_faithful().data


def _fit(X: np.ndarray, family: object, k: int = K, **options: object) -> emkit.FitResult:
    return emkit.fit(FiniteMixture(family, k), X, random_state=0, **options)  # type: ignore[arg-type]


def _assert_png(fig: Figure, path: Path) -> None:
    fig.savefig(path, dpi=60)
    raw = path.read_bytes()
    assert raw[:8] == PNG_SIGNATURE
    assert len(raw) > MIN_PNG_BYTES
    image = matplotlib.image.imread(path)
    # Not a blank canvas: some pixels differ from the background.
    assert np.ptp(image[..., :3]) > 0


def _ellipses(ax: object) -> list[Ellipse]:
    return [p for p in ax.patches if isinstance(p, Ellipse)]  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", emkit.COVARIANCE_TYPES)
def test_plot_mixture_draws_two_ellipses_per_gaussian_component(
    faithful: np.ndarray, kind: str, tmp_path: Path
) -> None:
    result = _fit(faithful, emkit.Gaussian(kind))
    ax = plotting.plot_mixture(faithful, result, feature_names=["eruptions", "waiting"])
    assert len(_ellipses(ax)) == 2 * K
    assert ax.get_xlabel() == "eruptions"
    assert ax.get_ylabel() == "waiting"
    means = result.params.components.means
    centres = np.array([e.center for e in _ellipses(ax)])
    np.testing.assert_allclose(centres, np.repeat(means, 2, axis=0), rtol=GEOMETRY_RTOL)
    _assert_png(ax.figure, tmp_path / f"{kind}.png")


@pytest.mark.parametrize("kind", emkit.COVARIANCE_TYPES)
def test_ellipse_axes_match_the_chosen_two_by_two_block(kind: str) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3)) * [1.0, 5.0, 0.3] + [0.0, 10.0, -4.0]
    X[:150] += [6.0, 0.0, 3.0]
    result = _fit(X, emkit.Gaussian(kind), k=2)
    ax = plotting.plot_mixture(X, result, features=(0, 2), n_std=(1.0, 2.0))
    covariances = result.params.components.covariances
    for k in range(2):
        if kind == "full":
            block = covariances[k][np.ix_([0, 2], [0, 2])]
        elif kind == "tied":
            block = covariances[0][np.ix_([0, 2], [0, 2])]
        elif kind == "diag":
            block = np.diag(covariances[k][[0, 2]])
        else:
            block = covariances[k] * np.eye(2)
        expected = np.sort(np.linalg.eigvalsh(block))[::-1]
        for radius, ellipse in zip((1.0, 2.0), _ellipses(ax)[2 * k : 2 * k + 2], strict=True):
            semi_axes = np.array([ellipse.width, ellipse.height]) / (2.0 * radius)
            np.testing.assert_allclose(semi_axes**2, expected, rtol=GEOMETRY_RTOL)
            np.testing.assert_allclose(
                ellipse.center, result.params.components.means[k, [0, 2]], rtol=GEOMETRY_RTOL
            )
    assert ax.get_xlabel() == "feature 0"
    assert ax.get_ylabel() == "feature 2"


def test_plot_mixture_colours_points_by_component(faithful: np.ndarray) -> None:
    result = _fit(faithful, emkit.Gaussian())
    ax = plotting.plot_mixture(faithful, result)
    collections = [c for c in ax.collections if isinstance(c, PathCollection)]
    # One scatter per (non-empty) component plus one for the means.
    assert len(collections) == K + 1
    labels = result.model.predict(faithful, result.params)
    sizes = sorted(len(c.get_offsets()) for c in collections[:-1])
    assert sizes == sorted(np.bincount(labels, minlength=K).tolist())
    np.testing.assert_allclose(
        collections[-1].get_offsets(), result.params.components.means, rtol=GEOMETRY_RTOL
    )


def test_plot_mixture_takes_params_with_model_and_an_existing_axes(faithful: np.ndarray) -> None:
    result = _fit(faithful, emkit.Gaussian("diag"))
    fig = Figure()
    ax = fig.add_subplot()
    returned = plotting.plot_mixture(faithful, result.params, result.model, ax=ax)
    assert returned is ax
    assert len(_ellipses(ax)) == 2 * K
    with pytest.raises(TypeError, match="`model` is required"):
        plotting.plot_mixture(faithful, result.params)


def test_plot_mixture_of_a_bernoulli_mixture_has_no_ellipses(tmp_path: Path) -> None:
    X = emkit.datasets.load_digits().data[:300]
    result = _fit(X, emkit.Bernoulli(), k=2, max_iter=5)
    ax = plotting.plot_mixture(X, result, features=(20, 43))
    assert _ellipses(ax) == []
    _assert_png(ax.figure, tmp_path / "bernoulli.png")


def test_one_feature_draws_each_component_and_the_mixture(tmp_path: Path) -> None:
    X = emkit.datasets.load_earthquakes().data
    result = _fit(X, emkit.Poisson(), k=2)
    ax = plotting.plot_mixture(X, result)
    assert len(ax.lines) == 2 + 1
    total = ax.lines[-1].get_ydata()
    parts = np.sum([line.get_ydata() for line in ax.lines[:-1]], axis=0)
    np.testing.assert_allclose(total, parts, rtol=GEOMETRY_RTOL)
    assert ax.get_ylabel() == "probability"
    _assert_png(ax.figure, tmp_path / "poisson.png")

    faithful = emkit.datasets.load_faithful().data[:, :1]
    gauss = _fit(faithful, emkit.Gaussian(), k=2)
    ax = plotting.plot_mixture(faithful, gauss, feature_names=["eruptions"])
    assert len(ax.lines) == 3
    assert ax.get_ylabel() == "density"
    assert ax.get_xlabel() == "eruptions"


@pytest.mark.parametrize(
    ("features", "match"),
    [((0, 0), "two different"), ((0, 5), r"\[0, 2\)"), ((0,), "two different")],
)
def test_plot_mixture_rejects_a_bad_feature_pair(
    faithful: np.ndarray, features: tuple[int, ...], match: str
) -> None:
    result = _fit(faithful, emkit.Gaussian(), k=2)
    with pytest.raises(ValueError, match=match):
        plotting.plot_mixture(faithful, result, features=features)
    with pytest.raises(ValueError, match="one name per column"):
        plotting.plot_mixture(faithful, result, feature_names=["only one"])


def test_plot_history_draws_the_objective_per_iteration(
    faithful: np.ndarray, tmp_path: Path
) -> None:
    result = _fit(faithful, emkit.Gaussian())
    ax = plotting.plot_history(result)
    assert len(ax.lines) == 1
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), result.history)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), np.arange(result.n_iter + 1))
    assert ax.get_xlabel() == "iteration"
    assert ax.get_ylabel() == "log-likelihood"
    assert f"{result.n_iter} iterations" in ax.get_title()
    _assert_png(ax.figure, tmp_path / "history.png")

    with_prior = _fit(emkit.datasets.load_digits().data[:200], emkit.Bernoulli(), 2, max_iter=3)
    assert plotting.plot_history(with_prior).get_ylabel() == "log-likelihood + log-prior"
    with pytest.raises(TypeError, match="FitResult"):
        plotting.plot_history(result.params)  # type: ignore[arg-type]


def test_component_images_one_per_component_titled_with_weights(tmp_path: Path) -> None:
    X = emkit.datasets.load_digits().data
    k = 4
    result = _fit(X, emkit.Bernoulli(), k=k, max_iter=5)
    axes = plotting.plot_component_images(result)
    assert len(axes) == k
    fig = axes[0].figure
    assert sum(len(ax.images) for ax in fig.axes) == k
    for index, ax in enumerate(axes):
        image = ax.images[0].get_array()
        assert image.shape == (8, 8)
        np.testing.assert_allclose(
            np.asarray(image).ravel(), result.params.components.mean[index], rtol=GEOMETRY_RTOL
        )
        assert ax.get_title() == f"{index}: {result.params.weights[index]:.3f}"
    _assert_png(fig, tmp_path / "images.png")


def test_component_images_with_a_given_shape_and_bare_params() -> None:
    X = emkit.datasets.load_digits().data
    result = _fit(X, emkit.Bernoulli(), k=3, max_iter=3)
    fig = Figure()
    axes = plotting.plot_component_images(result.params, shape=(4, 16), fig=fig, ncols=2)
    assert [ax.images[0].get_array().shape for ax in axes] == [(4, 16)] * 3
    # A 2x2 grid for 3 images: the spare cell is switched off and holds no image.
    assert sum(len(ax.images) for ax in fig.axes) == 3
    with pytest.raises(ValueError, match="rows \\* columns == n_features"):
        plotting.plot_component_images(result, shape=(5, 5))
    faithful = emkit.datasets.load_faithful().data
    with pytest.raises(ValueError, match="square image"):
        plotting.plot_component_images(_fit(faithful, emkit.Gaussian(), 2))


@pytest.mark.parametrize("criteria", [("bic",), ("bic", "aic"), ("bic", "aic", "icl")])
def test_plot_selection_one_line_per_setting_and_criterion(
    faithful: np.ndarray, criteria: tuple[str, ...], tmp_path: Path
) -> None:
    kinds = ["full", "diag"]
    selection = emkit.select(
        faithful, n_components=range(1, 4), covariance_types=kinds, random_state=0
    )
    ax = plotting.plot_selection(selection, criteria)
    assert len(ax.lines) == len(kinds) * len(criteria)
    for line in ax.lines:
        np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    star = ax.collections[-1].get_offsets()
    best = selection.best
    np.testing.assert_allclose(star, [[best.n_components, best.bic]], rtol=GEOMETRY_RTOL)
    assert ax.get_xlabel() == "number of components"
    assert "lower is better" in ax.get_ylabel()
    _assert_png(ax.figure, tmp_path / "selection.png")


def test_plot_selection_rejects_unknown_criteria(faithful: np.ndarray) -> None:
    selection = emkit.select(faithful, n_components=[1, 2], random_state=0)
    with pytest.raises(ValueError, match="`criteria`"):
        plotting.plot_selection(selection, ("bic", "xyz"))
    with pytest.raises(TypeError, match="Selection"):
        plotting.plot_selection(selection.candidates)  # type: ignore[arg-type]


def test_missing_matplotlib_raises_import_error_with_the_install_command(
    faithful: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _fit(faithful, emkit.Gaussian(), k=2)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'emkit\[plot\]'"):
        plotting.plot_history(result)
    with pytest.raises(ImportError, match=r"pip install 'emkit\[plot\]'"):
        plotting.plot_mixture(faithful, result)


def test_fitted_estimators_plot_like_their_result(faithful: np.ndarray) -> None:
    gm = emkit.GaussianMixture(n_components=2, covariance_type="tied", random_state=0)
    gm.fit(faithful)
    ax = plotting.plot_mixture(faithful, gm)
    assert len(_ellipses(ax)) == 2 * 2
    history = plotting.plot_history(gm)
    np.testing.assert_array_equal(history.lines[0].get_ydata(), gm.result_.history)
    digits = emkit.datasets.load_digits().data[:300]
    bm = emkit.BernoulliMixture(n_components=2, max_iter=5, random_state=0).fit(digits)
    assert len(plotting.plot_component_images(bm)) == 2
    with pytest.raises(TypeError, match="fitted emkit estimator"):
        plotting.plot_mixture(faithful, emkit.GaussianMixture())


# -- ellipses come from a capability, not from the Gaussian class ------------------------------
@pytest.mark.parametrize("kind", emkit.COVARIANCE_TYPES)
def test_gaussian_states_full_covariances_for_every_type(faithful: np.ndarray, kind: str) -> None:
    family = emkit.Gaussian(kind)
    result = _fit(faithful, family)
    full = family.covariances(result.params.components)
    assert full.shape == (K, 2, 2)
    # Each full matrix is the covariance of that component's draws.
    X = family.sample(result.params.components, 0, 200_000, np.random.default_rng(0))
    np.testing.assert_allclose(np.cov(X.T), full[0], rtol=0.02, atol=0.02 * np.abs(full[0]).max())


class _StatedCovariances:
    """A plugin family (delegating to a Gaussian) that states its covariances: gets ellipses."""

    def __init__(self) -> None:
        self.inner = emkit.Gaussian("diag")

    def __getattr__(self, name: str) -> object:
        if name == "covariances":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def covariances(self, params: object) -> np.ndarray:
        return self.inner.covariances(params)  # type: ignore[arg-type]


def test_any_family_stating_covariances_gets_ellipses(faithful: np.ndarray) -> None:
    inner = _fit(faithful, emkit.Gaussian("diag"))
    plugin = FiniteMixture(_StatedCovariances(), K)  # type: ignore[arg-type]
    assert isinstance(plugin.family, emkit.protocols.FamilyCovariances)
    ax = plotting.plot_mixture(faithful, inner.params, model=plugin)
    assert len(_ellipses(ax)) == 2 * K
    assert not isinstance(emkit.Poisson(), emkit.protocols.FamilyCovariances)
