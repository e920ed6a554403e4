"""The registry: registration, look-up, the re-definition rule, and installed plugins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import pytest

import emkit
from emkit import registry
from emkit.families import CanonicalFamily, MeanParams

BUILTIN_FAMILIES = ("Bernoulli", "Categorical", "Gaussian", "Poisson", "Product")


@pytest.fixture(autouse=True)
def clean_registry() -> Any:
    """emkit's own classes only, with no plugin loaded; everything undone afterwards."""
    with registry.isolated(builtins_only=True):
        yield


def make_family(name: str = "Exponential", module: str = __name__) -> type:
    """A fresh CanonicalFamily class called ``name`` (a new class object on every call)."""

    def natural_parameters(self: Any, mean: np.ndarray) -> np.ndarray:
        return -1.0 / mean

    namespace = {
        "__module__": module,
        "__qualname__": name,
        "sufficient_statistics": lambda self, X: X,
        "natural_parameters": natural_parameters,
        "log_partition": lambda self, eta: -np.sum(np.log(-eta), axis=1),
        "log_base_measure": lambda self, X: np.zeros(X.shape[0]),
        "check_support": lambda self, X: None,
        "check_mean": lambda self, mean: None,
        "sample": lambda self, params, component, n, rng: rng.exponential(
            params.mean[component], size=(n, params.mean.shape[1])
        ),
    }
    return attrs.frozen(type(name, (CanonicalFamily,), namespace))


@attrs.frozen
class TinyParams:
    level: np.ndarray


@attrs.frozen
class TinyModel:
    n_components: int = 1


# -- registering and looking up ----------------------------------------------------------------
def test_builtins_are_registered() -> None:
    assert registry.registered_families() == BUILTIN_FAMILIES
    assert registry.registered_models() == (
        "FiniteMixture",
        "HiddenMarkovModel",
        "RegressionMixture",
        "StudentTMixture",
    )
    assert registry.registered_estimators() == (
        "BernoulliHMM",
        "BernoulliMixture",
        "CategoricalHMM",
        "CategoricalMixture",
        "GaussianHMM",
        "GaussianMixture",
        "MixedMixture",
        "PoissonHMM",
        "PoissonMixture",
        "RegressionMixture",
    )
    assert registry.model_class("FiniteMixture") is emkit.FiniteMixture
    assert registry.model_class("HiddenMarkovModel") is emkit.HiddenMarkovModel
    assert registry.params_class_of(emkit.HiddenMarkovModel(emkit.Poisson(), 2)) is emkit.HMMParams
    assert registry.params_class_of(emkit.FiniteMixture) is emkit.MixtureParams
    assert registry.params_class_of(emkit.Gaussian("diag")) is emkit.GaussianParams
    assert registry.estimator_name(emkit.GaussianMixture()) == "GaussianMixture"
    assert registry.model_name(emkit.FiniteMixture(emkit.Poisson(), 2)) == "FiniteMixture"


def test_register_family_and_look_it_up_in_any_case() -> None:
    family = make_family()
    assert registry.register_family(family) is family  # usable right after the class statement
    for name in ("Exponential", "exponential", "EXPONENTIAL"):
        assert registry.family_class(name) is family
    assert registry.family_name(family()) == "Exponential"
    assert registry.family_name(family) == "Exponential"
    assert registry.registered_families() == (
        "Bernoulli",
        "Categorical",
        "Exponential",
        "Gaussian",
        "Poisson",
        "Product",
    )
    # a CanonicalFamily declares its parameters: MeanParams, registered with it
    assert registry.params_class_of(family) is MeanParams
    assert registry.params_class("meanparams") is MeanParams


def test_register_under_another_name() -> None:
    family = make_family()
    registry.register_family(family, name="WaitingTime")
    assert registry.family_class("waitingtime") is family
    assert registry.family_name(family) == "WaitingTime"
    with pytest.raises(ValueError, match=r"`name` must be a Python identifier; got 'a b'"):
        registry.register_family(family, name="a b")


def test_register_model_and_estimator() -> None:
    assert registry.register_model(TinyModel, TinyParams) is TinyModel
    assert registry.model_class("tinymodel") is TinyModel
    assert registry.params_class("TinyParams") is TinyParams
    assert registry.params_class_of(TinyModel(3)) is TinyParams

    class Estimator:
        pass

    assert registry.register_estimator(Estimator, name="Tiny") is Estimator
    assert registry.estimator_class("TINY") is Estimator
    assert registry.estimator_name(Estimator()) == "Tiny"


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(
        ValueError,
        match=r"unknown family 'weibull'; registered: Bernoulli, Categorical, Gaussian, Poisson, "
        r"Product "
        r"\(register a plugin family with emkit.registry.register_family, or install a package "
        r"that provides it through the 'emkit.plugins' entry points\)",
    ):
        registry.family_class("weibull")
    with pytest.raises(ValueError, match=r"unknown model 'HiddenMarkov'; registered: FiniteMix"):
        registry.model_class("HiddenMarkov")
    with pytest.raises(ValueError, match=r"unknown estimator 'Pipeline'; registered: Bernoulli"):
        registry.estimator_class("Pipeline")
    with pytest.raises(ValueError, match=r"unknown parameter 'Nope'; registered: GaussianP"):
        registry.params_class("Nope")
    with pytest.raises(TypeError, match=r"a family name must be a string; got 3"):
        registry.family_class(3)  # type: ignore[arg-type]


def test_unregistered_classes_say_what_to_call() -> None:
    family = make_family()
    with pytest.raises(
        TypeError,
        match=r"family tests.test_registry.Exponential is not registered; call "
        r"emkit.registry.register_family\(Exponential\)",
    ):
        registry.family_name(family())
    with pytest.raises(
        TypeError, match=r"call emkit.registry.register_model\(TinyModel, <its parameter class>\)"
    ):
        registry.model_name(TinyModel())
    with pytest.raises(TypeError, match=r"call emkit.registry.register_estimator\(dict\)"):
        registry.estimator_name({})
    with pytest.raises(TypeError, match=r"TinyModel is neither a registered family nor a regis"):
        registry.params_class_of(TinyModel)


def test_registration_errors() -> None:
    with pytest.raises(TypeError, match=r"`cls` must be an attrs class; got <class 'dict'>"):
        registry.register_family(dict)
    with pytest.raises(TypeError, match=r"`params_cls` is required for Plain, which declares no"):
        registry.register_family(attrs.frozen(type("Plain", (), {})))
    with pytest.raises(TypeError, match=r"`params_cls` must be an attrs class; got <class 'dict'>"):
        registry.register_family(make_family(), dict)
    with pytest.raises(TypeError, match=r"`params_cls` must be an attrs class"):
        registry.register_model(TinyModel, dict)
    with pytest.raises(TypeError, match=r"`cls` must be a class; got 3"):
        registry.register_estimator(3)  # type: ignore[type-var]


# -- registering again ---------------------------------------------------------------------------
def test_running_a_notebook_cell_again_replaces_the_class() -> None:
    """The same module and qualified name: the new class object replaces the old one."""
    first = make_family("Exponential")
    second = make_family("Exponential")
    assert first is not second
    registry.register_family(first)
    registry.register_family(second)
    assert registry.family_class("Exponential") is second
    registry.register_family(second)  # registering the same class again is harmless
    registry.register_family(emkit.Gaussian, emkit.GaussianParams)
    with pytest.raises(
        TypeError,
        match=r"family tests.test_registry.Exponential is an older definition of the class "
        r"registered as 'Exponential' \(its cell or module ran again since\); rebuild the object",
    ):
        registry.family_name(first())


def test_a_different_class_under_a_taken_name_is_refused() -> None:
    registry.register_family(make_family("Exponential", module="mypackage.families"))
    other = make_family("Exponential", module="otherpackage.families")
    with pytest.raises(
        ValueError,
        match=r"a different family class is already registered as 'Exponential': "
        r"mypackage.families.Exponential; cannot register otherpackage.families.Exponential "
        r"under that name \(pass name=... to register it under another one\)",
    ):
        registry.register_family(other)
    # names differing only in case are the same name
    with pytest.raises(ValueError, match=r"already registered as 'Exponential'"):
        registry.register_family(other, name="EXPONENTIAL")
    registry.register_family(other, name="OtherExponential")
    assert registry.family_class("otherexponential") is other


def test_a_refused_registration_registers_nothing() -> None:
    """The family and its parameter class are registered together or not at all."""
    clashing_params = attrs.frozen(type("GaussianParams", (), {"__annotations__": {"m": "int"}}))
    family = make_family("Lonely")
    with pytest.raises(ValueError, match=r"a different parameter class is already registered as"):
        registry.register_family(family, clashing_params)
    with pytest.raises(ValueError, match=r"unknown family 'Lonely'"):
        registry.family_class("Lonely")


def test_isolated_undoes_registrations() -> None:
    with registry.isolated():
        registry.register_family(make_family())
        assert "Exponential" in registry.registered_families()
    assert registry.registered_families() == BUILTIN_FAMILIES


# -- installed plugins ----------------------------------------------------------------------------
PLUGIN_MODULE = '''
"""A plugin module: importing it registers its family."""
import attrs
import numpy as np

from emkit.families import CanonicalFamily
from emkit.registry import register_family, register_model


@attrs.frozen
class MyFamily(CanonicalFamily):
    rate_floor: float = 1e-12

    def sufficient_statistics(self, X):
        return X

    def natural_parameters(self, mean):
        return -1.0 / np.maximum(mean, self.rate_floor)

    def log_partition(self, eta):
        return -np.sum(np.log(-eta), axis=1)

    def log_base_measure(self, X):
        return np.zeros(X.shape[0])

    def check_support(self, X):
        pass

    def check_mean(self, mean):
        pass

    def sample(self, params, component, n, rng):
        return rng.exponential(params.mean[component], size=(n, params.mean.shape[1]))


register_family(MyFamily)


@attrs.frozen
class MyParams:
    level: object


@attrs.frozen
class MyModel:
    size: int = 1


def register():
    """A callable entry point: called once, with no arguments."""
    register_model(MyModel, MyParams)
'''


def install_fake_plugin(
    site: Path, entry_points: dict[str, str], modules: dict[str, str], dist: str = "fakeplugin"
) -> None:
    """An installed distribution ``dist`` 0.1 in the directory ``site``."""
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = [f"{name} = {value}" for name, value in entry_points.items()]
    (info / "entry_points.txt").write_text("[emkit.plugins]\n" + "\n".join(lines) + "\n")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)


def unique_module() -> str:
    """A module name no earlier test imported (sys.modules would keep the old one)."""
    return f"fakeplugin_{uuid.uuid4().hex[:12]}"


def test_entry_points_register_families_and_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = unique_module()
    install_fake_plugin(
        tmp_path,
        {"myfamily": module, "mymodel": f"{module}:register"},
        {module: PLUGIN_MODULE},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    family = registry.family_class("myfamily")  # not registered yet: the look-up loads plugins
    assert family.__module__ == module
    assert family.__name__ == "MyFamily"
    assert registry.params_class_of(family) is MeanParams
    assert registry.model_class("MyModel").__module__ == module  # the callable ran
    assert registry.registered_families() == (
        "Bernoulli",
        "Categorical",
        "Gaussian",
        "MyFamily",
        "Poisson",
        "Product",
    )
    # a plugin family works like a built-in one
    X = np.random.default_rng(0).exponential(2.0, size=(200, 2))
    result = emkit.fit(emkit.FiniteMixture(family(), 2), X, random_state=0)
    assert np.isfinite(result.log_likelihood)


def test_entry_points_are_found_by_a_fresh_process(tmp_path: Path) -> None:
    """The real importlib.metadata discovery, in a new interpreter with the plugin on its path."""
    module = unique_module()
    install_fake_plugin(tmp_path, {"myfamily": module}, {module: PLUGIN_MODULE})
    code = textwrap.dedent(
        """
        from emkit import registry
        family = registry.family_class("MYFAMILY")
        print(family.__module__, family.__name__, registry.params_class_of(family).__name__)
        print(",".join(registry.registered_families()))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        f"{module} MyFamily MeanParams",
        "Bernoulli,Categorical,Gaussian,MyFamily,Poisson,Product",
    ]


def test_a_broken_entry_point_raises_until_it_is_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = unique_module()
    install_fake_plugin(tmp_path, {"broken": module}, {}, dist="brokenplugin")
    monkeypatch.syspath_prepend(str(tmp_path))
    message = (
        rf"the emkit plugin entry point 'broken' = '{module}' of brokenplugin failed to load: "
        rf"ModuleNotFoundError: No module named '{module}'"
    )
    with pytest.raises(ImportError, match=message):
        registry.family_class("myfamily")
    with pytest.raises(ImportError, match=message):  # not silently forgotten the second time
        registry.registered_families()
    assert registry.family_class("gaussian") is emkit.Gaussian  # known names need no plugin
    (tmp_path / f"{module}.py").write_text(PLUGIN_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))  # invalidates the import caches
    assert registry.family_class("myfamily").__module__ == module


def test_a_plugin_that_raises_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = unique_module()
    install_fake_plugin(
        tmp_path, {"bad": f"{module}:register"}, {module: "def register():\n    1 / 0\n"}
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ImportError, match=r"'bad' = .* failed to load: ZeroDivisionError") as info:
        registry.model_class("anything")
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_refresh_finds_a_plugin_installed_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert registry.registered_families() == BUILTIN_FAMILIES  # plugins looked for: none
    module = unique_module()
    install_fake_plugin(tmp_path, {"myfamily": module}, {module: PLUGIN_MODULE})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match=r"unknown family 'MyFamily'"):
        registry.family_class("MyFamily")  # entry points are read once per process
    registry.load_plugins(refresh=True)  # e.g. after `pip install` in a running notebook
    assert registry.family_class("MyFamily").__module__ == module
    registry.load_plugins(refresh=True)  # loading again changes nothing
    assert registry.registered_families() == (
        "Bernoulli",
        "Categorical",
        "Gaussian",
        "MyFamily",
        "Poisson",
        "Product",
    )


def test_isolated_builtins_only_forgets_loaded_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = unique_module()
    install_fake_plugin(tmp_path, {"myfamily": f"{module}:MyFamily"}, {module: PLUGIN_MODULE})
    monkeypatch.syspath_prepend(str(tmp_path))
    family = registry.family_class("MyFamily")  # the class entry point is loaded, not called
    with registry.isolated(builtins_only=True):
        assert registry.registered_families() == BUILTIN_FAMILIES
    assert registry.family_class("MyFamily") is family
