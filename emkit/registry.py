"""One registry of the classes emkit can rebuild by name: families, models and estimators.

Saving and loading (:mod:`emkit.io`), the command line (``emkit fit --family NAME``) and the
estimators all look classes up here, so a plugin registered once works everywhere a built-in
one does. Nothing is ever imported by a name read from a file: only registered classes are
rebuilt.

Registering
    ``register_family(Exponential)`` (a :class:`~emkit.CanonicalFamily`, whose parameters are
    :class:`~emkit.MeanParams`), ``register_family(MyFamily, MyParams)``,
    ``register_model(MyModel, MyParams)`` and ``register_estimator(MyEstimator)``. Each returns
    the class, so it also works as a call right after the class statement. The registered name
    is the class name unless ``name=`` is given; look-ups ignore case (``--family gaussian``).

Registering again
    The same name from a class with the same module and qualified name replaces the old entry:
    re-running a notebook cell that defines and registers a family just works. A *different*
    class under a name already taken raises ``ValueError``.

Installed plugins
    A package makes its classes known without being imported by the user through the entry-point
    group :data:`PLUGIN_GROUP` (``emkit.plugins``): each entry point names a module (importing it
    registers its classes) or a callable (called once, with no arguments). In
    ``pyproject.toml``::

        [project.entry-points."emkit.plugins"]
        myfamily = "mypackage.families"

    Entry points are loaded the first time a name is looked up or the registry is listed.
"""

from __future__ import annotations

import threading
from importlib.metadata import entry_points
from typing import Any, TypeVar

import attrs

__all__ = [
    "PLUGIN_GROUP",
    "estimator_class",
    "family_class",
    "family_name",
    "load_plugins",
    "model_class",
    "model_name",
    "params_class",
    "register_estimator",
    "register_family",
    "register_model",
    "registered_estimators",
    "registered_families",
    "registered_models",
]

#: The entry-point group through which installed packages register their classes.
PLUGIN_GROUP = "emkit.plugins"

T = TypeVar("T", bound=type)

_LOCK = threading.RLock()
_PLUGINS_LOADED = False


@attrs.define
class _Kind:
    """The classes of one kind, by registered name (original case kept for display)."""

    what: str
    register_hint: str
    # lower-case name -> (name as registered, class)
    classes: dict[str, tuple[str, type]] = attrs.Factory(dict)

    def add(self, cls: type, name: str) -> None:
        key = name.lower()
        with _LOCK:
            entry = self.classes.get(key)
            known = None if entry is None else entry[1]
            if known is not None and known is not cls and not _redefinition(known, cls):
                raise ValueError(
                    f"a different {self.what} class is already registered as {name!r}: "
                    f"{_qualified(known)}; register {_qualified(cls)} under another name "
                    "(name=...)"
                )
            # A class of the same module and name (a notebook cell run again) replaces it.
            self.classes[key] = (name, cls)

    def lookup(self, name: str) -> type:
        if not isinstance(name, str):
            raise TypeError(f"a {self.what} name must be a string; got {name!r}")
        entry = self.classes.get(name.lower())
        if entry is None:
            load_plugins()
            entry = self.classes.get(name.lower())
        if entry is not None:
            return entry[1]
        known = ", ".join(self.names()) or "none"
        raise ValueError(
            f"unknown {self.what} {name!r}; registered: {known} (register a plugin "
            f"{self.what} with emkit.registry.{self.register_hint} or install a package "
            f"that provides it through the {PLUGIN_GROUP!r} entry points)"
        )

    def name_of(self, cls: type) -> str:
        for name, known in self.classes.values():
            if known is cls:
                return name
        raise TypeError(
            f"{self.what} {_qualified(cls)} is not registered; call "
            f"emkit.registry.{self.register_hint}({cls.__name__}) first"
        )

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(name for name, _ in self.classes.values()))


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _redefinition(old: type, new: type) -> bool:
    return _qualified(old) == _qualified(new)


_FAMILIES = _Kind("family", "register_family")
_MODELS = _Kind("model", "register_model")
_ESTIMATORS = _Kind("estimator", "register_estimator")
_PARAMS = _Kind("parameter", "register_family")


def _check_attrs_class(cls: Any, role: str) -> None:
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise TypeError(f"`{role}` must be an attrs class; got {cls!r}")


def _name(cls: type, name: str | None) -> str:
    if name is None:
        return cls.__name__
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"`name` must be a Python identifier; got {name!r}")
    return name


def register_family(cls: T, params_cls: type | None = None, *, name: str | None = None) -> T:
    """Make the family ``cls`` known to :func:`emkit.load`, the command line and the estimators.

    Parameters
    ----------
    cls : attrs class
        The family. Its ``__init__`` fields are its settings, saved by name and passed back to
        ``cls(**settings)`` on loading: JSON scalars, arrays, tuples, or registered objects.
    params_cls : attrs class, optional
        The class of its component parameters. Defaults to the class attribute
        ``params_type`` (:class:`~emkit.MeanParams` for every :class:`~emkit.CanonicalFamily`).
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
        If a different class is already registered under the name.
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
    _FAMILIES.add(cls, _name(cls, name))
    _PARAMS.add(params_cls, params_cls.__name__)
    return cls


def register_model(cls: T, params_cls: type, *, name: str | None = None) -> T:
    """Make the latent-variable model ``cls`` (an attrs class) and its parameters known.

    Saved fits of a registered model load back with :func:`emkit.load`. The parameter class
    may hold arrays and other registered parameter classes (a mixture holds its family's).
    """
    _check_attrs_class(cls, "cls")
    _check_attrs_class(params_cls, "params_cls")
    _MODELS.add(cls, _name(cls, name))
    _PARAMS.add(params_cls, params_cls.__name__)
    return cls


def register_estimator(cls: T, *, name: str | None = None) -> T:
    """Make an estimator class (scikit-learn interface) loadable with :func:`emkit.load`."""
    if not isinstance(cls, type):
        raise TypeError(f"`cls` must be a class; got {cls!r}")
    _ESTIMATORS.add(cls, _name(cls, name))
    return cls


def family_class(name: str) -> type:
    """The family class registered as ``name`` (any case); ``ValueError`` lists the known ones."""
    return _FAMILIES.lookup(name)


def model_class(name: str) -> type:
    """The model class registered as ``name``."""
    return _MODELS.lookup(name)


def estimator_class(name: str) -> type:
    """The estimator class registered as ``name``."""
    return _ESTIMATORS.lookup(name)


def params_class(name: str) -> type:
    """A registered parameter class, by its class name."""
    return _PARAMS.lookup(name)


def family_name(family: Any) -> str:
    """The registered name of a family (class or instance); ``TypeError`` if unregistered."""
    return _FAMILIES.name_of(family if isinstance(family, type) else type(family))


def model_name(model: Any) -> str:
    """The registered name of a model (class or instance); ``TypeError`` if unregistered."""
    return _MODELS.name_of(model if isinstance(model, type) else type(model))


def registered_families() -> tuple[str, ...]:
    """Names of the registered families (plugins included), sorted."""
    load_plugins()
    return _FAMILIES.names()


def registered_models() -> tuple[str, ...]:
    """Names of the registered models, sorted."""
    load_plugins()
    return _MODELS.names()


def registered_estimators() -> tuple[str, ...]:
    """Names of the registered estimators, sorted."""
    load_plugins()
    return _ESTIMATORS.names()


def load_plugins() -> None:
    """Load the :data:`PLUGIN_GROUP` entry points of installed packages (once per process).

    A plugin that fails to load raises ``ImportError`` naming the entry point and its package,
    since a broken installation should not pass silently.
    """
    global _PLUGINS_LOADED
    with _LOCK:
        if _PLUGINS_LOADED:
            return
        _PLUGINS_LOADED = True
        for point in entry_points(group=PLUGIN_GROUP):
            try:
                loaded = point.load()
                if callable(loaded) and not isinstance(loaded, type):
                    loaded()
            except Exception as exc:
                dist = getattr(point.dist, "name", "an installed package")
                raise ImportError(
                    f"the emkit plugin entry point {point.name!r} = {point.value!r} of {dist} "
                    f"failed to load: {type(exc).__name__}: {exc}"
                ) from exc
