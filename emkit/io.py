"""Save and load fitted models as JSON: no pickle, exact floats, every field checked on the way in.

:func:`save` writes a :class:`~emkit.FitResult` of any registered model, or a fitted estimator of
a registered class (:class:`~emkit.GaussianMixture`, :class:`~emkit.BernoulliMixture`,
:class:`~emkit.PoissonMixture`, or a plugin's); :func:`load` reads either back. Models, families,
parameter classes and estimators are found by name in :mod:`emkit.registry`, the one place
that says which classes a file may name.

The file (format version 2)
    One JSON object::

        {
          "format": "emkit-model", "version": 2, "emkit_version": "0.1.0",
          "kind": "fit_result" | "estimator",
          "model": {"type": "FiniteMixture",
                    "settings": {"family": {"type": "Gaussian",
                                            "settings": {"covariance_type": "full",
                                                         "reg_covar": 1e-06}},
                                 "n_components": 2, "weight_concentration": 1.0}},
          "params": {"type": "MixtureParams",
                     "fields": {"weights": ARRAY,
                                "components": {"type": "GaussianParams",
                                               "fields": {"means": ARRAY,
                                                          "covariances": ARRAY}}}},
          "fit": {"log_likelihood": ..., "log_prior": ..., "history": ARRAY, "n_iter": ...,
                  "converged": ..., "n_samples": ..., "n_features": ..., "restart": ...,
                  "restart_objectives": ARRAY},
          "estimator": {"type": "GaussianMixture", "params": {...constructor parameters...},
                        "feature_names_in": null | ["a", "b"]}     # kind "estimator" only
        }

    ``model`` is an OBJECT: ``{"type": registered name, "settings": {...}}`` with one entry per
    ``__init__`` field of the class (``attrs.fields`` with ``init=True``, by its argument
    name). A setting is

    * a JSON scalar (null, true/false, a number, a string),
    * an ARRAY ``{"dtype": ..., "shape": [...], "data": [...]}``: values in row-major order, of
      dtype float64, float32, bool or a signed or unsigned integer type, which comes back,
    * ``[...]`` for a Python list and ``{"tuple": [...]}`` for a tuple, of settings,
    * a registered family or model, as a nested OBJECT (a family when the name is a registered
      family, else a model).

    ``params`` is a PARAMS tree: ``{"type": registered parameter class, "fields": {...}}`` with
    one entry per ``__init__`` field, each an ARRAY, a number or a nested PARAMS. Derived fields
    (``init=False``, such as a Gaussian's Cholesky factors) are not written; the class
    recomputes them.

    Python writes a float as the shortest decimal that reads back to the same float64
    (``repr``), so every parameter round-trips bit for bit; float32 arrays are written through
    their exact float64 value and cast back. NaN and infinity are refused.

    An estimator's constructor parameters are saved as they are; list-valued starting values
    (``weights_init`` and the like) come back as float64 arrays, and a ``random_state`` that is a
    numpy Generator or RandomState (not JSON) comes back as ``None``, with a warning when saving.

Version 1
    Files of format version 1 (emkit's first format, mixtures only) are read by translating
    them to version 2 first; errors in their arrays name the field of the translation.

Safety
    * Nothing is ever unpickled or imported by a name read from the file: only classes
      registered in :mod:`emkit.registry` are rebuilt.
    * A file that is truncated, not JSON, from a newer format version, or hand-edited into a
      broken model (unknown types, missing or extra fields, wrong shapes, non-finite values,
      negative variances, covariances that are not positive definite, weights that do not sum
      to 1) raises ``ValueError`` starting with the file name and naming the field. The
      parameters go through the model's own ``validate_params`` before anything is returned;
      the loaded parameters are the saved ones, bit for bit.
    * Writing goes to a temporary file in the target directory that is then renamed over the
      target (``os.replace``), so a failed save never destroys an existing file.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from emkit import registry
from emkit._backend import Array
from emkit._version import __version__
from emkit.em import FitResult
from emkit.protocols import ExponentialFamily, LatentVariableModel
from emkit.registry import register_family, registered_families

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "from_dict",
    "load",
    "register_family",
    "registered_families",
    "save",
    "to_dict",
]

#: Value of the file's ``"format"`` field.
FORMAT_NAME = "emkit-model"

#: The format version this emkit writes; it reads this version and every older one.
FORMAT_VERSION = 2

#: The oldest format version this emkit reads.
_OLDEST_VERSION = 1

#: Array dtypes a file may hold, by the name written in ``"dtype"``.
_DTYPES: dict[str, np.dtype[Any]] = {
    np.dtype(t).name: np.dtype(t)
    for t in (
        np.float64,
        np.float32,
        np.bool_,
        np.int8,
        np.int16,
        np.int32,
        np.int64,
        np.uint8,
        np.uint16,
        np.uint32,
        np.uint64,
    )
}
_KINDS = ("fit_result", "estimator")
_TOP_FIELDS = {"format", "version", "emkit_version", "kind", "model", "params", "fit"}
_FIT_FIELDS = {
    "log_likelihood",
    "log_prior",
    "history",
    "n_iter",
    "converged",
    "n_samples",
    "n_features",
    "restart",
    "restart_objectives",
}
_ARRAY_KEYS = {"dtype", "shape", "data"}
_OBJECT_KEYS = {"type", "settings"}
_PARAMS_KEYS = {"type", "fields"}
_TUPLE_KEY = "tuple"
_SETTING_KINDS = (
    "settings hold JSON scalars, numpy arrays, tuples, lists and registered families or models"
)

#: How far up the stack the caller of save() or to_dict() is, seen from the estimator parameter
#: encoder (encoder, _to_dict, save/to_dict, caller): warnings point at the user's line.
_USER_FRAME = 4


# -- writing -----------------------------------------------------------------------------------
def save(fitted: Any, path: str | os.PathLike[str]) -> None:
    """Write a :class:`~emkit.FitResult` or a fitted estimator to ``path`` as JSON.

    Parameters
    ----------
    fitted : FitResult or estimator
        The result of :func:`emkit.fit` (or another driver) on a registered model, or a fitted
        estimator of a registered class (:func:`emkit.registry.register_estimator`).
    path : str or path-like
        The file to write (conventionally ``*.json``). An existing file is replaced only once
        the new one is completely written.

    Raises
    ------
    TypeError
        If ``fitted`` is neither, if its model, a family in it or a parameter class is not
        registered (the message says which ``emkit.registry.register_*`` to call), or if it
        holds a value the format cannot represent.
    ValueError
        If ``fitted`` holds NaN or infinity.
    NotFittedError
        If ``fitted`` is an estimator that is not fitted.
    """
    text = json.dumps(_to_dict(fitted), indent=1, allow_nan=False)
    _write_atomic(Path(path), text + "\n")


def to_dict(fitted: Any) -> dict[str, Any]:
    """The JSON document of :func:`save` as a plain dict (see the module docstring)."""
    return _to_dict(fitted)


def _to_dict(fitted: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "emkit_version": __version__,
    }
    if isinstance(fitted, FitResult):
        doc["kind"] = "fit_result"
        doc.update(_encode_result(fitted))
    else:
        try:
            name = registry.estimator_name(fitted)
        except TypeError:
            known = ", ".join(registry.registered_estimators())
            raise TypeError(
                "`fitted` must be an emkit.FitResult or a fitted estimator of a registered "
                f"class ({known}); got {type(fitted).__name__}"
            ) from None
        result = fitted.fitted_result()  # NotFittedError unless fitted
        doc["kind"] = "estimator"
        doc.update(_encode_result(result))
        params = {}
        for key, value in fitted.get_params(deep=False).items():
            params[key] = _encode_estimator_param(key, value)
        feature_names = getattr(fitted, "feature_names_in_", None)
        doc["estimator"] = {
            "type": name,
            "params": params,
            "feature_names_in": None if feature_names is None else [str(n) for n in feature_names],
        }
    _check_finite(doc, "")
    return doc


def _encode_result(result: FitResult[Any]) -> dict[str, Any]:
    model = result.model
    model_doc = _encode_object(model, "model", role="model")
    params_cls = registry.params_class_of(model)
    if not isinstance(result.params, params_cls):
        raise TypeError(
            f"cannot save `params`: the parameters of a {model_doc['type']} must be "
            f"{params_cls.__name__}; got {type(result.params).__name__}"
        )
    return {
        "model": model_doc,
        "params": _encode_params(result.params, "params"),
        "fit": {
            "log_likelihood": float(result.log_likelihood),
            "log_prior": float(result.log_prior),
            "history": _encode_array(np.asarray(result.history, dtype=np.float64), "fit.history"),
            "n_iter": int(result.n_iter),
            "converged": bool(result.converged),
            "n_samples": float(result.n_samples),
            "n_features": int(result.n_features),
            "restart": int(result.restart),
            "restart_objectives": _encode_array(
                np.asarray(result.restart_objectives, dtype=np.float64), "fit.restart_objectives"
            ),
        },
    }


def _init_fields(cls: type) -> list[attrs.Attribute[Any]]:
    """The fields ``cls(...)`` takes; derived fields (``init=False``) are recomputed."""
    return [field for field in attrs.fields(cls) if field.init]


def _encode_object(obj: Any, where: str, role: str | None = None) -> dict[str, Any]:
    """``{"type": name, "settings": {...}}`` of a registered family or model.

    ``role="model"`` requires a model (the top of the file); otherwise a registered family is
    tried first, then a registered model.
    """
    try:
        name = registry.model_name(obj) if role == "model" else _nested_name(obj)
    except TypeError as exc:
        raise TypeError(f"cannot save `{where}`: {exc}") from None
    cls = type(obj)
    settings = {}
    for field in _init_fields(cls):
        key = field.alias or field.name
        settings[key] = _encode_setting(
            getattr(obj, field.name), f"{where}.settings.{key}", cls.__name__
        )
    return {"type": name, "settings": settings}


def _nested_name(obj: Any) -> str:
    """The registered name of a family or model inside settings, as loading will resolve it."""
    for name_of, lookup in (
        (registry.family_name, registry.family_class),
        (registry.model_name, registry.model_class),
    ):
        try:
            name = name_of(obj)
        except TypeError:
            continue
        if _resolve_nested(name) is not type(obj):
            raise TypeError(
                f"{type(obj).__name__} is registered as {name!r}, a name that loading resolves "
                f"to the family {lookup(name).__name__}; register it under another name "
                "(name=...)"
            )
        return name
    if isinstance(obj, ExponentialFamily):
        registry.family_name(obj)  # raises TypeError saying how to register it
    if isinstance(obj, LatentVariableModel):
        registry.model_name(obj)
    raise TypeError(
        f"a {type(obj).__name__} is neither a registered family nor a registered model "
        "(register it with emkit.registry.register_family or register_model)"
    )


def _resolve_nested(name: str) -> type:
    """The class a nested OBJECT's name stands for: a registered family, else a model."""
    try:
        return registry.family_class(name)
    except ValueError:
        return registry.model_class(name)


def _encode_setting(value: Any, where: str, owner: str) -> Any:
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        return _encode_array(value, where)
    if isinstance(value, tuple):
        return {
            _TUPLE_KEY: [_encode_setting(v, f"{where}[{i}]", owner) for i, v in enumerate(value)]
        }
    if isinstance(value, list):
        return [_encode_setting(v, f"{where}[{i}]", owner) for i, v in enumerate(value)]
    if attrs.has(type(value)):
        return _encode_object(value, where)
    raise TypeError(
        f"cannot save `{where}` of {owner}: a {type(value).__name__} is not a setting the "
        f"format can represent ({_SETTING_KINDS})"
    )


def _encode_params(params: Any, where: str) -> dict[str, Any]:
    """``{"type": name, "fields": {...}}`` of a registered parameter class."""
    cls = type(params)
    if not attrs.has(cls):
        raise TypeError(
            f"cannot save `{where}`: parameters must be an attrs class; got {cls.__name__}"
        )
    try:
        known = registry.params_class(cls.__name__)
    except ValueError:
        known = None
    if known is not cls:
        raise TypeError(
            f"cannot save `{where}`: the parameter class {cls.__module__}.{cls.__qualname__} is "
            "not registered; register it with its family or model "
            f"(emkit.registry.register_family(Family, {cls.__name__}) or "
            f"emkit.registry.register_model(Model, {cls.__name__})), or on its own with "
            f"emkit.registry.register_params({cls.__name__})"
        )
    fields: dict[str, Any] = {}
    for field in _init_fields(cls):
        key = field.alias or field.name
        path = f"{where}.fields.{key}"
        value = getattr(params, field.name)
        if isinstance(value, np.ndarray):
            fields[key] = _encode_array(value, path)
        elif attrs.has(type(value)):
            fields[key] = _encode_params(value, path)
        elif isinstance(value, int | np.integer) and not isinstance(value, bool):
            fields[key] = int(value)
        elif isinstance(value, float | np.floating):
            fields[key] = float(value)
        else:
            raise TypeError(
                f"cannot save `{path}`: parameter fields hold arrays, numbers or registered "
                f"parameter classes; got a {type(value).__name__}"
            )
    return {"type": cls.__name__, "fields": fields}


def _encode_array(value: Array, where: str) -> dict[str, Any]:
    arr = np.asarray(value)
    if arr.dtype.name not in _DTYPES:
        raise TypeError(
            f"cannot save `{where}`: arrays of dtype {arr.dtype} are not supported "
            f"(supported: {', '.join(_DTYPES)})"
        )
    # tolist() turns float32 into the Python float of the same value, which casts back exactly,
    # and integers into Python integers.
    return {"dtype": arr.dtype.name, "shape": list(arr.shape), "data": arr.ravel().tolist()}


def _encode_estimator_param(name: str, value: Any) -> Any:
    if name == "random_state" and not (
        value is None or (isinstance(value, int | np.integer) and not isinstance(value, bool))
    ):
        warnings.warn(
            f"random_state={value!r} cannot be saved; the loaded estimator gets "
            "random_state=None (this only affects refitting and sample())",
            UserWarning,
            stacklevel=_USER_FRAME,
        )
        return None
    if value is None or isinstance(value, str | bool | np.bool_ | numbers.Real):
        return _encode_setting(value, f"estimator.params.{name}", "the estimator")
    if isinstance(value, np.ndarray | list | tuple):
        arr = np.asarray(value)
        if arr.dtype.name not in ("float64", "float32"):
            if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
                raise TypeError(
                    f"cannot save estimator parameter `{name}`: an array of dtype {arr.dtype}"
                )
            arr = arr.astype(np.float64)
        return _encode_array(arr, f"estimator.params.{name}")
    raise TypeError(
        f"cannot save estimator parameter `{name}`: {type(value).__name__} is not a JSON "
        "scalar or an array"
    )


def _check_finite(node: Any, where: str) -> None:
    if isinstance(node, float) and not math.isfinite(node):
        raise ValueError(f"cannot save `{where}`: it holds {node}; only finite values are saved")
    if isinstance(node, dict):
        for key, value in node.items():
            _check_finite(value, f"{where}.{key}" if where else key)
    elif isinstance(node, list):
        for value in node:
            _check_finite(value, where)


def _write_atomic(path: Path, text: str) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot save to {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- reading -----------------------------------------------------------------------------------
class _InvalidError(ValueError):
    """A problem in a document, before the file name is attached."""


def load(path: str | os.PathLike[str]) -> Any:
    """Read a model written by :func:`save` (format version 2, or version 1).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    A fitted estimator (the class that was saved) or a :class:`~emkit.FitResult`, whose
    parameters are bit-for-bit those that were saved.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a valid emkit model; the message starts with the path and names
        the field and the rule it breaks, e.g. ``"model.json: invalid `params`: `params.weights`
        must be non-negative and sum to 1; got [0.6, 0.6] (sum 1.2)"``.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not an emkit model file (not UTF-8 text: {exc})") from None
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except _InvalidError as exc:
        raise ValueError(f"{path}: {exc}") from None
    except RecursionError:
        raise ValueError(f"{path}: not an emkit model file (nested too deeply)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            "the file is truncated or corrupted"
        ) from None
    return from_dict(doc, source=str(path))


def _reject_constant(name: str) -> Any:
    raise _InvalidError(f"holds {name}, which is never a valid parameter value")


def from_dict(doc: Any, source: str = "<model>") -> Any:
    """Rebuild what :func:`to_dict` produced; ``source`` prefixes error messages."""
    try:
        return _decode(doc)
    except _InvalidError as exc:
        raise ValueError(f"{source}: {exc}") from None
    except RecursionError:
        raise ValueError(f"{source}: not an emkit model file (nested too deeply)") from None


def _decode(doc: Any) -> Any:
    doc = _mapping(doc, "the document")
    fmt = doc.get("format")
    if fmt != FORMAT_NAME:
        raise _InvalidError(
            f"not an emkit model file (`format` must be {FORMAT_NAME!r}; got {fmt!r})"
        )
    version = _integer(_field(doc, "version", ""), "version")
    if version > FORMAT_VERSION:
        raise _InvalidError(
            f"written in format version {version} by a newer emkit; this emkit reads versions "
            f"up to {FORMAT_VERSION}: upgrade emkit to load it"
        )
    if version < _OLDEST_VERSION:
        raise _InvalidError(f"`version` must be >= {_OLDEST_VERSION}; got {version}")
    kind = _field(doc, "kind", "")
    if kind not in _KINDS:
        raise _InvalidError(f"`kind` must be one of {', '.join(map(repr, _KINDS))}; got {kind!r}")
    if version == 1:
        doc = _upgrade_v1(doc, kind)
    expected = _TOP_FIELDS | ({"estimator"} if kind == "estimator" else set())
    _exact_keys(doc, expected, "the document", optional={"emkit_version"})
    result = _decode_result(doc)
    if kind == "fit_result":
        return result
    return _decode_estimator(_mapping(doc["estimator"], "estimator"), result)


def _upgrade_v1(doc: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """A version-1 document (a FiniteMixture of one family) in the layout of version 2."""
    model = _mapping(_field(doc, "model", ""), "model")
    if model.get("type") != "FiniteMixture":
        raise _InvalidError(f"`model.type` must be 'FiniteMixture'; got {model.get('type')!r}")
    family = _mapping(_field(model, "family", "model"), "model.family")
    name = _field(family, "name", "model.family")
    try:
        family_cls = registry.family_class(name)
    except (TypeError, ValueError) as exc:
        raise _InvalidError(f"`model.family.name`: {exc}") from None
    family_attrs = _mapping(_field(family, "attrs", "model.family"), "model.family.attrs")
    for key, value in family_attrs.items():
        if isinstance(value, dict | list):
            raise _InvalidError(f"`model.family.attrs.{key}` must be a scalar; got {value!r}")
    params = _mapping(_field(doc, "params", ""), "params")
    _exact_keys(params, {"weights", "components"}, "params")
    upgraded = {key: value for key, value in doc.items() if key not in ("model", "params")}
    upgraded["version"] = FORMAT_VERSION
    upgraded["model"] = {
        "type": "FiniteMixture",
        "settings": {
            "family": {"type": name, "settings": family_attrs},
            "n_components": _field(model, "n_components", "model"),
            "weight_concentration": _field(model, "weight_concentration", "model"),
        },
    }
    upgraded["params"] = {
        "type": "MixtureParams",
        "fields": {
            "weights": params["weights"],
            "components": {
                "type": registry.params_class_of(family_cls).__name__,
                "fields": params["components"],
            },
        },
    }
    if kind == "estimator":
        estimator = _mapping(_field(doc, "estimator", ""), "estimator")
        upgraded["estimator"] = {
            ("type" if key == "class" else key): value for key, value in estimator.items()
        }
    return upgraded


def _decode_result(doc: Mapping[str, Any]) -> FitResult[Any]:
    model = _decode_object(_mapping(doc["model"], "model"), "model", role="model")
    fit = _mapping(doc["fit"], "fit")
    _exact_keys(fit, _FIT_FIELDS, "fit")
    n_features = _integer(fit["n_features"], "fit.n_features", minimum=1)
    params = _decode_model_params(doc["params"], model, n_features)
    history = _array(fit["history"], "fit.history", ndim=1)
    n_iter = _integer(fit["n_iter"], "fit.n_iter", minimum=0)
    if history.shape != (n_iter + 1,):
        raise _InvalidError(
            f"`fit.history` must have n_iter + 1 = {n_iter + 1} entries; got {history.shape[0]}"
        )
    restart_objectives = _array(fit["restart_objectives"], "fit.restart_objectives", ndim=1)
    restart = _integer(fit["restart"], "fit.restart", minimum=0)
    if restart >= restart_objectives.shape[0]:
        raise _InvalidError(
            f"`fit.restart` must index `fit.restart_objectives` "
            f"(length {restart_objectives.shape[0]}); got {restart}"
        )
    converged = fit["converged"]
    if not isinstance(converged, bool):
        raise _InvalidError(f"`fit.converged` must be true or false; got {converged!r}")
    n_samples = _real(fit["n_samples"], "fit.n_samples")
    if n_samples <= 0:
        raise _InvalidError(f"`fit.n_samples` must be > 0; got {n_samples!r}")
    return FitResult(
        model=model,
        params=params,
        log_likelihood=_real(fit["log_likelihood"], "fit.log_likelihood"),
        log_prior=_real(fit["log_prior"], "fit.log_prior"),
        history=history,
        n_iter=n_iter,
        converged=converged,
        n_samples=n_samples,
        n_features=n_features,
        restart=restart,
        restart_objectives=restart_objectives,
    )


def _decode_object(spec: Mapping[str, Any], where: str, role: str | None = None) -> Any:
    """A registered family or model from ``{"type": ..., "settings": {...}}``."""
    _exact_keys(spec, _OBJECT_KEYS, where)
    name = spec["type"]
    if not isinstance(name, str):
        raise _InvalidError(f"`{where}.type` must be a string; got {name!r}")
    try:
        cls = registry.model_class(name) if role == "model" else _resolve_nested(name)
    except ValueError as exc:
        message = str(exc)
        if role != "model":
            message = (
                f"unknown family or model {name!r}; registered families: "
                f"{', '.join(registry.registered_families())}; registered models: "
                f"{', '.join(registry.registered_models())} (register a plugin with "
                "emkit.registry.register_family or register_model before loading)"
            )
        raise _InvalidError(f"`{where}.type`: {message}") from None
    settings = _mapping(spec["settings"], f"{where}.settings")
    fields = {field.alias or field.name for field in _init_fields(cls)}
    _exact_keys(settings, fields, f"{where}.settings")
    kwargs = {
        key: _decode_setting(value, f"{where}.settings.{key}") for key, value in settings.items()
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise _InvalidError(f"invalid `{where}` ({name}): {exc}") from None


def _decode_setting(node: Any, where: str) -> Any:
    if node is None or isinstance(node, str | bool | int | float):
        return node
    if isinstance(node, list):
        return [_decode_setting(v, f"{where}[{i}]") for i, v in enumerate(node)]
    spec = _mapping(node, where)
    if "type" in spec:
        return _decode_object(spec, where)
    if _TUPLE_KEY in spec:
        _exact_keys(spec, {_TUPLE_KEY}, where)
        items = spec[_TUPLE_KEY]
        if not isinstance(items, list):
            raise _InvalidError(f"`{where}.{_TUPLE_KEY}` must be a list; got {items!r}")
        return tuple(_decode_setting(v, f"{where}[{i}]") for i, v in enumerate(items))
    if "dtype" in spec:
        return _array(spec, where, ndim=None)
    raise _InvalidError(
        f"`{where}` must be a JSON scalar, a list, an array {{dtype, shape, data}}, a tuple "
        f"{{tuple}} or an object {{type, settings}}; got an object with keys {sorted(spec)}"
    )


def _decode_model_params(node: Any, model: LatentVariableModel[Any, Any], n_features: int) -> Any:
    """The parameters of ``model``, checked by its own ``validate_params``."""
    expected = registry.params_class_of(model)
    params = _decode_params(_mapping(node, "params"), "params")
    if not isinstance(params, expected):
        raise _InvalidError(
            f"`params.type` must be {expected.__name__!r} for a {type(model).__name__}; "
            f"got {type(params).__name__!r}"
        )
    try:
        # The model's own checks: shapes for its settings and n_features, value ranges. What it
        # returns may be normalised; the saved values are kept, bit for bit.
        model.validate_params(params, n_features)
    except (TypeError, ValueError) as exc:
        raise _InvalidError(f"invalid `params`: {exc}") from None
    return params


def _decode_params(spec: Mapping[str, Any], where: str) -> Any:
    """An instance of a registered parameter class from ``{"type": ..., "fields": {...}}``."""
    _exact_keys(spec, _PARAMS_KEYS, where)
    name = spec["type"]
    if not isinstance(name, str):
        raise _InvalidError(f"`{where}.type` must be a string; got {name!r}")
    try:
        cls = registry.params_class(name)
    except ValueError as exc:
        raise _InvalidError(f"`{where}.type`: {exc}") from None
    fields = _mapping(spec["fields"], f"{where}.fields")
    _exact_keys(fields, {f.alias or f.name for f in _init_fields(cls)}, f"{where}.fields")
    kwargs: dict[str, Any] = {}
    for key, value in fields.items():
        path = f"{where}.fields.{key}"
        if isinstance(value, dict) and "type" in value:
            kwargs[key] = _decode_params(value, path)
        elif isinstance(value, dict):
            kwargs[key] = _array(value, path, ndim=None)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            kwargs[key] = value
        else:
            raise _InvalidError(
                f"`{path}` must be an array {{dtype, shape, data}}, a number or parameters "
                f"{{type, fields}}; got {value!r}"
            )
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise _InvalidError(f"invalid `{where}` ({name}): {exc}") from None


def _decode_estimator(spec: Mapping[str, Any], result: FitResult[Any]) -> Any:
    _exact_keys(spec, {"type", "params", "feature_names_in"}, "estimator")
    name = spec["type"]
    try:
        cls: Any = registry.estimator_class(name)
    except (TypeError, ValueError) as exc:
        raise _InvalidError(f"`estimator.type`: {exc}") from None
    params_spec = _mapping(spec["params"], "estimator.params")
    _exact_keys(params_spec, set(cls.param_names()), "estimator.params")
    params = {}
    for key, value in params_spec.items():
        if isinstance(value, list):
            raise _InvalidError(
                f"`estimator.params.{key}` must be a scalar or an array; got a list"
            )
        if isinstance(value, dict):
            value = _array(value, f"estimator.params.{key}", ndim=None)
        params[key] = value
    try:
        estimator = cls(**params)
        model = estimator.build_model()
        # The other settings only matter for refitting, but a file never holds invalid ones.
        estimator.validate_settings()
    except (TypeError, ValueError) as exc:
        raise _InvalidError(f"invalid `estimator.params`: {exc}") from None
    # Compared through their saved form: exact, and defined for array-valued settings too.
    if _encode_object(model, "model", role="model") != _encode_object(
        result.model, "model", role="model"
    ):
        raise _InvalidError(
            f"`estimator.params` describe {model!r}, but `model` holds {result.model!r}"
        )
    feature_names = spec["feature_names_in"]
    if feature_names is not None:
        if not isinstance(feature_names, list) or not all(
            isinstance(n, str) for n in feature_names
        ):
            raise _InvalidError(
                f"`estimator.feature_names_in` must be null or a list of strings; "
                f"got {feature_names!r}"
            )
        if len(feature_names) != result.n_features:
            raise _InvalidError(
                f"`estimator.feature_names_in` must name n_features = {result.n_features} "
                f"features; got {len(feature_names)}"
            )
        feature_names = np.asarray(feature_names, dtype=object)
    estimator.restore_fit(result, feature_names)
    return estimator


# -- small readers that name the field ---------------------------------------------------------
def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _InvalidError(f"`{where}` must be a JSON object; got {type(value).__name__}")
    return value


def _field(spec: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in spec:
        name = f"{where}.{key}" if where else key
        raise _InvalidError(f"missing field `{name}`")
    return spec[key]


def _exact_keys(
    spec: Mapping[str, Any], expected: set[str], where: str, optional: set[str] | None = None
) -> None:
    """``spec`` has exactly the ``expected`` keys (those in ``optional`` may be absent)."""
    extra = sorted(set(spec) - expected)
    if extra:
        raise _InvalidError(f"unknown field(s) {extra} in `{where}`; expected {sorted(expected)}")
    missing = sorted(expected - set(spec) - (optional or set()))
    if missing:
        raise _InvalidError(f"missing field(s) {missing} in `{where}`")


def _integer(value: Any, where: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _InvalidError(f"`{where}` must be an integer; got {value!r}")
    if minimum is not None and value < minimum:
        raise _InvalidError(f"`{where}` must be >= {minimum}; got {value}")
    return value


def _real(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _InvalidError(f"`{where}` must be a number; got {value!r}")
    return float(value)


def _array(value: Any, where: str, ndim: int | None) -> Array:
    spec = _mapping(value, where)
    _exact_keys(spec, _ARRAY_KEYS, where)
    dtype_name = spec["dtype"]
    dtype = _DTYPES.get(dtype_name) if isinstance(dtype_name, str) else None
    if dtype is None:
        raise _InvalidError(
            f"`{where}.dtype` must be one of {', '.join(_DTYPES)}; got {dtype_name!r}"
        )
    shape = spec["shape"]
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise _InvalidError(
            f"`{where}.shape` must be a list of non-negative integers; got {shape!r}"
        )
    if ndim is not None and len(shape) != ndim:
        raise _InvalidError(f"`{where}` must be {ndim}-D; got shape {tuple(shape)}")
    data = spec["data"]
    if dtype.kind == "b":
        ok, rule = isinstance(data, list) and all(isinstance(x, bool) for x in data), "booleans"
    elif dtype.kind in "iu":
        ok = isinstance(data, list) and all(
            isinstance(x, int) and not isinstance(x, bool) for x in data
        )
        rule = "integers"
    else:
        ok = isinstance(data, list) and all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in data
        )
        rule = "numbers"
    if not ok:
        raise _InvalidError(f"`{where}.data` must be a flat list of {rule} for dtype {dtype}")
    size = math.prod(shape)
    if len(data) != size:
        raise _InvalidError(
            f"`{where}.data` must hold prod(shape) = {size} values for shape {tuple(shape)}; "
            f"got {len(data)}"
        )
    try:
        # Floats go through float64, where JSON's shortest decimals are exact, then to float32
        # (a value beyond float32's range becomes inf there, refused below).
        with np.errstate(over="ignore"):
            arr = np.array(data, dtype=np.float64 if dtype.kind == "f" else dtype).astype(dtype)
    except OverflowError:
        raise _InvalidError(f"`{where}.data` holds a value outside the range of {dtype}") from None
    if dtype.kind == "f" and not np.isfinite(arr).all():
        raise _InvalidError(f"`{where}` must hold only finite values of {dtype}")
    return np.asarray(arr.reshape(shape))
