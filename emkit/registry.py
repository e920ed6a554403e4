"""One registry of the classes emkit can rebuild by name: families, models and estimators.

Saving and loading ([`emkit.io`][emkit.io]), the command line (``emkit fit --family NAME``) and the
estimators all look classes up here, so a plugin registered once works everywhere a built-in
one does. Nothing is ever imported by a name read from a file: only registered classes are
rebuilt.

Registering
    ``register_family(Exponential)`` (a
    [`CanonicalFamily`][emkit.families.canonical.CanonicalFamily], whose parameters are
    [`MeanParams`][emkit.families.canonical.MeanParams]), ``register_family(MyFamily, MyParams)``,
    ``register_model(MyModel, MyParams)`` and ``register_estimator(MyEstimator)``. Each returns the
    class, so it also works as a call right after the class statement. The registered name is the
    class name unless ``name=`` is given; look-ups ignore case (``--family gaussian``). A parameter
    class is registered under its class name along with its family or model
    ([`register_params`][emkit.registry.register_params] registers one more, for parameters nested
    in a model's own).

Registering again
    A class with the same module and qualified name as the registered one replaces it: re-running
    a notebook cell that defines and registers a family just works (objects built from the old
    class can then no longer be saved; rebuild them). A *different* class under a name already
    taken raises ``ValueError`` naming both classes.

Installed plugins
    A package makes its classes known without being imported by the user through the entry-point
    group [`PLUGIN_GROUP`][emkit.registry.PLUGIN_GROUP] (``emkit.plugins``): each entry point names
    a module (importing it registers its classes) or a callable (called once, with no arguments). In
    ``pyproject.toml``::

        [project.entry-points."emkit.plugins"]
        myfamily = "mypackage.families"

    Entry points are loaded the first time a name is not found or the registry is listed;
    [`load_plugins`][emkit.registry.load_plugins] with ``refresh=True`` looks again (after
    installing a package into a running session). A plugin that fails to load raises ``ImportError``
    naming it, each time until it is fixed.

Tests
    [`isolated`][emkit.registry.isolated] undoes every registration made inside it, and can start
    from emkit's own classes only, with entry points not yet loaded.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any, TypeVar

import attrs

__all__ = [
    "OPTIONAL_SETTING",
    "PLUGIN_GROUP",
    "estimator_class",
    "estimator_name",
    "family_class",
    "family_name",
    "isolated",
    "load_plugins",
    "model_class",
    "model_name",
    "params_class",
    "params_class_of",
    "register_estimator",
    "register_family",
    "register_model",
    "register_params",
    "registered_estimators",
    "registered_families",
    "registered_models",
]

OPTIONAL_SETTING = {"optional_setting": True}
"""Field metadata of a setting added to a registered class after files were saved with it: a
saved file may omit it (it then takes its default), and [`emkit.save`][emkit.io.save] leaves it
out while it is at its default, so files without it stay exactly as before."""

PLUGIN_GROUP = "emkit.plugins"
"""The entry-point group through which installed packages register their classes."""

#: Modules whose classes count as emkit's own (kept by ``isolated(builtins_only=True)``).
_BUILTIN_PACKAGE = "emkit"

T = TypeVar("T", bound=type)

_LOCK = threading.RLock()


@attrs.frozen
class _Entry:
    """One registered class: its name as registered (case kept for display), the class, and
    for a family or model the class of its parameters."""

    name: str
    cls: type
    params_cls: type | None = None


@attrs.define
class _Kind:
    """The classes of one kind, by lower-case registered name."""

    what: str
    how: str  # how to register one, for the message of an unknown name
    call: str = ""  # the call that registers a class, for the message of an unregistered one
    entries: dict[str, _Entry] = attrs.Factory(dict)

    def check(self, cls: type, name: str) -> None:
        """Raise ``ValueError`` if a different class is registered as ``name``."""
        entry = self.entries.get(name.lower())
        if entry is None or entry.cls is cls or _qualified(entry.cls) == _qualified(cls):
            return  # free, the same class, or a redefinition (a notebook cell run again)
        raise ValueError(
            f"a different {self.what} class is already registered as {entry.name!r}: "
            f"{_qualified(entry.cls)}; cannot register {_qualified(cls)} under that name "
            "(pass name=... to register it under another one)"
        )

    def add(self, entry: _Entry) -> None:
        self.entries[entry.name.lower()] = entry

    def lookup(self, name: str) -> _Entry:
        if not isinstance(name, str):
            raise TypeError(f"a {self.what} name must be a string; got {name!r}")
        entry = self.entries.get(name.lower())
        if entry is None:
            load_plugins()
            entry = self.entries.get(name.lower())
        if entry is not None:
            return entry
        known = ", ".join(self.names()) or "none"
        raise ValueError(
            f"unknown {self.what} {name!r}; registered: {known} (register a plugin {self.what} "
            f"with {self.how}, or install a package that provides it through the "
            f"{PLUGIN_GROUP!r} entry points)"
        )

    def entry_of(self, cls: type) -> _Entry:
        with _LOCK:
            for entry in self.entries.values():
                if entry.cls is cls:
                    return entry
            for entry in self.entries.values():
                if _qualified(entry.cls) == _qualified(cls):
                    raise TypeError(
                        f"{self.what} {_qualified(cls)} is an older definition of the class "
                        f"registered as {entry.name!r} (its cell or module ran again since); "
                        "rebuild the object from the current class"
                    )
        raise TypeError(
            f"{self.what} {_qualified(cls)} is not registered; call "
            f"{self.call.format(cls.__name__)} first"
        )

    def names(self) -> tuple[str, ...]:
        with _LOCK:
            return tuple(sorted((e.name for e in self.entries.values()), key=str.lower))


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_FAMILIES = _Kind(
    "family",
    "emkit.registry.register_family",
    "emkit.registry.register_family({0}) (with its parameter class if it has no params_type)",
)
_MODELS = _Kind(
    "model",
    "emkit.registry.register_model",
    "emkit.registry.register_model({0}, <its parameter class>)",
)
_ESTIMATORS = _Kind(
    "estimator", "emkit.registry.register_estimator", "emkit.registry.register_estimator({0})"
)
_PARAMS = _Kind(
    "parameter",
    "its family or model (emkit.registry.register_family or register_model) or with "
    "emkit.registry.register_params",
)
_KINDS = (_FAMILIES, _MODELS, _ESTIMATORS, _PARAMS)


@attrs.define
class _PluginState:
    """Which entry points have been loaded in this process."""

    complete: bool = False  # every entry point seen so far loaded without error
    loading: bool = False  # a plugin being imported may look names up: do not recurse
    done: set[tuple[str, str, str]] = attrs.Factory(set)  # (distribution, name, value)


_PLUGINS = _PluginState()


def _check_attrs_class(cls: Any, role: str) -> None:
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise TypeError(f"`{role}` must be an attrs class; got {cls!r}")


def _name(cls: type, name: str | None) -> str:
    if name is None:
        return cls.__name__
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"`name` must be a Python identifier; got {name!r}")
    return name


def _register_with_params(kind: _Kind, cls: type, params_cls: type, name: str) -> None:
    """Add ``cls`` and its parameter class together: both or neither."""
    params_name = params_cls.__name__
    with _LOCK:
        kind.check(cls, name)
        _PARAMS.check(params_cls, params_name)
        kind.add(_Entry(name, cls, params_cls))
        _PARAMS.add(_Entry(params_name, params_cls))


def register_family(cls: T, params_cls: type | None = None, *, name: str | None = None) -> T:
    """Make the family ``cls`` known to [`emkit.load`][emkit.io.load], the command line and the
    estimators.

    Parameters
    ----------
    cls : attrs class
        The family. Its ``__init__`` fields are its settings, saved by name and passed back to
        ``cls(**settings)`` on loading: JSON scalars, arrays, tuples, lists, or registered
        families and models.
    params_cls : attrs class, optional
        The class of its component parameters. Defaults to the class attribute
        ``params_type`` ([`MeanParams`][emkit.families.canonical.MeanParams] for every
        [`CanonicalFamily`][emkit.families.canonical.CanonicalFamily]).
    name : str, optional
        The registered name (default: the class name). Look-ups ignore case.

    Returns
    -------
    cls

    Raises
    ------
    TypeError
        If ``cls`` or ``params_cls`` is not an attrs class, or ``params_cls`` is missing.
    ValueError
        If a different class is already registered under the name (or a different parameter
        class under the parameter class's name).
    """
    _check_attrs_class(cls, "cls")
    if params_cls is None:
        # A family class may declare the class of its parameters (CanonicalFamily does).
        params_cls = getattr(cls, "params_type", None)
        if params_cls is None:
            raise TypeError(
                f"`params_cls` is required for {cls.__name__}, which declares no `params_type`"
            )
    _check_attrs_class(params_cls, "params_cls")
    _register_with_params(_FAMILIES, cls, params_cls, _name(cls, name))
    return cls


def register_model(cls: T, params_cls: type, *, name: str | None = None) -> T:
    """Make the latent-variable model ``cls`` and its parameter class known.

    Saved fits of a registered model load back with [`emkit.load`][emkit.io.load].

    Parameters
    ----------
    cls : attrs class
        The model. Its ``__init__`` fields are its settings (as for
        [`register_family`][emkit.registry.register_family]).
    params_cls : attrs class
        The class of its parameters, whose ``__init__`` fields hold arrays, numbers and
        instances of other registered parameter classes (a mixture holds its family's).
    name : str, optional
        The registered name (default: the class name). Look-ups ignore case.

    Returns
    -------
    cls

    Raises
    ------
    TypeError
        If ``cls`` or ``params_cls`` is not an attrs class.
    ValueError
        If a different class is already registered under the name.
    """
    _check_attrs_class(cls, "cls")
    _check_attrs_class(params_cls, "params_cls")
    _register_with_params(_MODELS, cls, params_cls, _name(cls, name))
    return cls


def register_params(cls: T) -> T:
    """Make a parameter class known by its class name, for parameters nested in a model's own.

    [`register_family`][emkit.registry.register_family] and
    [`register_model`][emkit.registry.register_model] register the class of the parameters of a
    family or model; this registers one more, e.g. a part of a model's parameters that is no
    family's.

    Raises
    ------
    TypeError
        If ``cls`` is not an attrs class.
    ValueError
        If a different class is already registered under its name.
    """
    _check_attrs_class(cls, "cls")
    with _LOCK:
        _PARAMS.check(cls, cls.__name__)
        _PARAMS.add(_Entry(cls.__name__, cls))
    return cls


def register_estimator(cls: T, *, name: str | None = None) -> T:
    """Make an estimator class (scikit-learn interface) savable and loadable.

    The class provides ``param_names()``, ``get_params(deep=False)``, ``fitted_result()``,
    ``build_model()``, ``validate_settings()`` and ``restore_fit(result, feature_names)``
    (see [`MixtureEstimator`][emkit.estimators.MixtureEstimator]).

    Raises
    ------
    TypeError
        If ``cls`` is not a class.
    ValueError
        If a different class is already registered under the name.
    """
    if not isinstance(cls, type):
        raise TypeError(f"`cls` must be a class; got {cls!r}")
    name = _name(cls, name)
    with _LOCK:
        _ESTIMATORS.check(cls, name)
        _ESTIMATORS.add(_Entry(name, cls))
    return cls


def family_class(name: str) -> type:
    """The family class registered as ``name`` (any case).

    Raises
    ------
    ValueError
        If no family is registered as ``name``; the message lists the registered ones.
    """
    return _FAMILIES.lookup(name).cls


def model_class(name: str) -> type:
    """The model class registered as ``name`` (any case); ``ValueError`` lists the known ones."""
    return _MODELS.lookup(name).cls


def estimator_class(name: str) -> type:
    """The estimator class registered as ``name`` (any case); ``ValueError`` lists the known
    ones."""
    return _ESTIMATORS.lookup(name).cls


def params_class(name: str) -> type:
    """A registered parameter class, by its class name (any case); ``ValueError`` if unknown."""
    return _PARAMS.lookup(name).cls


def params_class_of(family_or_model: Any) -> type:
    """The parameter class registered with a family or model (class or instance).

    Raises
    ------
    TypeError
        If it is neither a registered family nor a registered model.
    """
    cls = family_or_model if isinstance(family_or_model, type) else type(family_or_model)
    with _LOCK:
        for kind in (_FAMILIES, _MODELS):
            for entry in kind.entries.values():
                if entry.cls is cls and entry.params_cls is not None:
                    return entry.params_cls
    raise TypeError(
        f"{_qualified(cls)} is neither a registered family nor a registered model; call "
        "emkit.registry.register_family or emkit.registry.register_model first"
    )


def family_name(family: Any) -> str:
    """The registered name of a family (class or instance); ``TypeError`` if unregistered."""
    return _FAMILIES.entry_of(family if isinstance(family, type) else type(family)).name


def model_name(model: Any) -> str:
    """The registered name of a model (class or instance); ``TypeError`` if unregistered."""
    return _MODELS.entry_of(model if isinstance(model, type) else type(model)).name


def estimator_name(estimator: Any) -> str:
    """The registered name of an estimator (class or instance); ``TypeError`` if unregistered."""
    cls = estimator if isinstance(estimator, type) else type(estimator)
    return _ESTIMATORS.entry_of(cls).name


def registered_families() -> tuple[str, ...]:
    """Names of the registered families (installed plugins included), sorted."""
    load_plugins()
    return _FAMILIES.names()


def registered_models() -> tuple[str, ...]:
    """Names of the registered models (installed plugins included), sorted."""
    load_plugins()
    return _MODELS.names()


def registered_estimators() -> tuple[str, ...]:
    """Names of the registered estimators (installed plugins included), sorted."""
    load_plugins()
    return _ESTIMATORS.names()


def load_plugins(*, refresh: bool = False) -> None:
    """Load the [`PLUGIN_GROUP`][emkit.registry.PLUGIN_GROUP] entry points of installed packages.

    Look-ups call this the first time a name is not found, so there is rarely a reason to call
    it yourself. Each entry point is loaded once per process.

    Parameters
    ----------
    refresh : bool, default False
        Look for entry points again, e.g. after installing a plugin package into a running
        notebook session. Entry points already loaded are not loaded twice.

    Raises
    ------
    ImportError
        If an entry point fails to load; the message names it and its package. A broken
        installation does not pass silently: the next look-up of an unknown name tries (and
        fails) again.
    """
    with _LOCK:
        if _PLUGINS.loading or (_PLUGINS.complete and not refresh):
            return
        if refresh:
            importlib.invalidate_caches()
        _PLUGINS.loading = True
        try:
            for point in entry_points(group=PLUGIN_GROUP):
                dist = getattr(point.dist, "name", None) or "an installed package"
                key = (dist, point.name, point.value)
                if key in _PLUGINS.done:
                    continue
                try:
                    loaded = point.load()
                    if callable(loaded) and not isinstance(loaded, type):
                        loaded()
                except Exception as exc:
                    raise ImportError(
                        f"the emkit plugin entry point {point.name!r} = {point.value!r} of "
                        f"{dist} failed to load: {type(exc).__name__}: {exc}"
                    ) from exc
                _PLUGINS.done.add(key)
            _PLUGINS.complete = True
        finally:
            _PLUGINS.loading = False


@contextmanager
def isolated(*, builtins_only: bool = False) -> Iterator[None]:
    """Undo every registration made inside the ``with`` block (a hook for tests).

    Parameters
    ----------
    builtins_only : bool, default False
        Start the block with emkit's own classes only, and with no entry point loaded yet, so
        that the first look-up of an unknown name inside loads the installed plugins afresh.
        (A plugin module imported before is not imported again, so its classes stay out.)

    Examples
    --------
    >>> from emkit import registry
    >>> with registry.isolated(builtins_only=True):
    ...     "Gaussian" in registry.registered_families()
    True
    """
    with _LOCK:
        saved = [dict(kind.entries) for kind in _KINDS]
        saved_plugins = attrs.evolve(_PLUGINS, done=set(_PLUGINS.done))
        if builtins_only:
            for kind in _KINDS:
                kind.entries = {
                    key: entry for key, entry in kind.entries.items() if _is_builtin(entry.cls)
                }
            _PLUGINS.complete = False
            _PLUGINS.done = set()
    try:
        yield
    finally:
        with _LOCK:
            for kind, entries in zip(_KINDS, saved, strict=True):
                kind.entries = entries
            _PLUGINS.complete = saved_plugins.complete
            _PLUGINS.done = saved_plugins.done


def _is_builtin(cls: type) -> bool:
    module = cls.__module__
    return module == _BUILTIN_PACKAGE or module.startswith(_BUILTIN_PACKAGE + ".")
