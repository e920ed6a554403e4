"""Writing a fitted model: the JSON document of [`save`][emkit.io.save] and
[`to_dict`][emkit.io.to_dict], and the atomic file write.

The document is built from the registry's names and the classes' ``__init__`` fields (see
[`emkit.io`][emkit.io] for the format); everything the format cannot represent raises ``TypeError``
naming the field, and NaN or infinity raises ``ValueError``, before anything is written.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from emkit import registry
from emkit._backend import Array
from emkit._version import __version__
from emkit.em import FitResult
from emkit.io.schema import (
    DTYPES,
    FORMAT_NAME,
    FORMAT_VERSION,
    MAPPING_KEY,
    TUPLE_KEY,
    resolve_nested,
)
from emkit.protocols import ExponentialFamily, KeepsFittedState, LatentVariableModel
from emkit.stats import init_fields

__all__ = ["encode_array", "encode_object", "save", "to_dict"]

_SETTING_KINDS = (
    "settings hold JSON scalars, numpy arrays, tuples, lists, registered families or models, "
    "and instances of registered parameter classes"
)

#: How far up the stack the caller of save() or to_dict() is, seen from the estimator parameter
#: encoder (encoder, _to_dict, save/to_dict, caller): warnings point at the user's line.
_USER_FRAME = 4


def save(fitted: Any, path: str | os.PathLike[str]) -> None:
    """Write a [`FitResult`][emkit.em.FitResult] or a fitted estimator to ``path`` as JSON.

    Parameters
    ----------
    fitted : FitResult or estimator
        The result of [`emkit.fit`][emkit.em.fit] (or another driver) on a registered model, or a
        fitted estimator of a registered class
        ([`emkit.registry.register_estimator`][emkit.registry.register_estimator]).
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
    """The JSON document of [`save`][emkit.io.save] as a plain dict (see [`emkit.io`][emkit.io])."""
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
        if isinstance(fitted, KeepsFittedState):
            doc["estimator"]["state"] = _json_state(fitted.fitted_state(), "estimator.state")
    _check_finite(doc, "")
    return doc


def _encode_result(result: FitResult[Any]) -> dict[str, Any]:
    model = result.model
    model_doc = encode_object(model, "model", role="model")
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
            "history": encode_array(np.asarray(result.history, dtype=np.float64), "fit.history"),
            "n_iter": int(result.n_iter),
            "converged": bool(result.converged),
            "n_samples": float(result.n_samples),
            "n_features": int(result.n_features),
            "restart": int(result.restart),
            "restart_objectives": encode_array(
                np.asarray(result.restart_objectives, dtype=np.float64), "fit.restart_objectives"
            ),
            "collapsed_restarts": [int(r) for r in result.collapsed_restarts],
            "n_start_iter": int(result.n_start_iter),
        },
    }


def encode_object(obj: Any, where: str, role: str | None = None) -> dict[str, Any]:
    """``{"type": name, "settings": {...}}`` of a registered family or model.

    Parameters
    ----------
    obj : family or model
        An instance of a registered family or model class.
    where : str
        Its path in the document, for error messages.
    role : {"model", None}, optional
        ``"model"`` requires a model (the top of the file); otherwise a registered family is
        tried first, then a registered model.

    Returns
    -------
    dict
        The OBJECT, with one setting per ``__init__`` field of its class.

    Raises
    ------
    TypeError
        If ``obj`` or a family or model in its settings is not registered, or if a setting is
        not one the format can represent.
    """
    try:
        name = registry.model_name(obj) if role == "model" else _nested_name(obj)
    except TypeError as exc:
        raise TypeError(f"cannot save `{where}`: {exc}") from None
    cls = type(obj)
    settings = {}
    for field in init_fields(cls):
        key = field.alias or field.name
        value = getattr(obj, field.name)
        if _optional(field) and _is_default(field, value):
            continue  # an optional setting at its default reads back as it: files stay as before
        settings[key] = _encode_setting(value, f"{where}.settings.{key}", cls.__name__)
    return {"type": name, "settings": settings}


def _is_default(field: Any, value: Any) -> bool:
    default = field.default
    return (
        default is not attrs.NOTHING
        and not isinstance(default, attrs.Factory)  # type: ignore[arg-type]
        and type(value) is type(default)
        and value == default
    )


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
        if resolve_nested(name) is not type(obj):
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
        return encode_array(value, where)
    if isinstance(value, tuple):
        return {
            TUPLE_KEY: [_encode_setting(v, f"{where}[{i}]", owner) for i, v in enumerate(value)]
        }
    if isinstance(value, list):
        return [_encode_setting(v, f"{where}[{i}]", owner) for i, v in enumerate(value)]
    if attrs.has(type(value)):
        if _is_registered_params(value):
            # Parameters held as a setting (a model's fixed values): {type, fields}.
            return _encode_params(value, where)
        return encode_object(value, where)
    raise TypeError(
        f"cannot save `{where}` of {owner}: a {type(value).__name__} is not a setting the "
        f"format can represent ({_SETTING_KINDS})"
    )


def _is_registered_params(value: Any) -> bool:
    try:
        return registry.params_class(type(value).__name__) is type(value)
    except ValueError:
        return False


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
    for field in init_fields(cls):
        key = field.alias or field.name
        fields[key] = _encode_param_value(getattr(params, field.name), f"{where}.fields.{key}")
    return {"type": cls.__name__, "fields": fields}


def _encode_param_value(value: Any, path: str) -> Any:
    """One parameter field: an array, a number, registered parameters or a tuple of them (a
    product family's parts)."""
    if isinstance(value, np.ndarray):
        return encode_array(value, path)
    if attrs.has(type(value)):
        return _encode_params(value, path)
    if isinstance(value, tuple):
        return {TUPLE_KEY: [_encode_param_value(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    raise TypeError(
        f"cannot save `{path}`: parameter fields hold arrays, numbers, registered parameter "
        f"classes or tuples of them; got a {type(value).__name__}"
    )


def encode_array(value: Array, where: str) -> dict[str, Any]:
    """The ARRAY ``{"dtype": ..., "shape": [...], "data": [...]}`` of a numpy array.

    Parameters
    ----------
    value : numpy.ndarray
        The array, of a dtype in ``emkit.io.schema.DTYPES``.
    where : str
        Its path in the document, for the error message.

    Returns
    -------
    dict
        Its dtype name, shape and values in row-major order, as Python numbers that read back
        to exactly the same values.

    Raises
    ------
    TypeError
        If the array's dtype is not one a file may hold.
    """
    arr = np.asarray(value)
    if arr.dtype.name not in DTYPES:
        raise TypeError(
            f"cannot save `{where}`: arrays of dtype {arr.dtype} are not supported "
            f"(supported: {', '.join(DTYPES)})"
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
    if isinstance(value, dict):
        pairs = []
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, str | int | np.integer):
                raise TypeError(
                    f"cannot save estimator parameter `{name}`: its keys must be strings or "
                    f"integers; got {key!r}"
                )
            where = f"estimator.params.{name}[{key!r}]"
            key = key if isinstance(key, str) else int(key)
            pairs.append([key, _encode_setting(item, where, "the estimator")])
        return {MAPPING_KEY: pairs}
    if isinstance(value, np.ndarray | list | tuple):
        arr = np.asarray(value)
        if arr.dtype.name not in ("float64", "float32"):
            if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
                raise TypeError(
                    f"cannot save estimator parameter `{name}`: an array of dtype {arr.dtype}"
                )
            arr = arr.astype(np.float64)
        return encode_array(arr, f"estimator.params.{name}")
    raise TypeError(
        f"cannot save estimator parameter `{name}`: {type(value).__name__} is not a JSON "
        "scalar or an array"
    )


def _json_state(node: Any, where: str) -> Any:
    """An estimator's fitted state, checked to hold JSON values only."""
    if node is None or isinstance(node, str | bool | int | float):
        return node
    if isinstance(node, list):
        return [_json_state(value, f"{where}[{i}]") for i, value in enumerate(node)]
    if isinstance(node, dict) and all(isinstance(key, str) for key in node):
        return {key: _json_state(value, f"{where}.{key}") for key, value in node.items()}
    raise TypeError(
        f"cannot save `{where}`: an estimator's fitted state holds JSON values (str, bool, "
        f"numbers, null, lists, dicts with str keys); got a {type(node).__name__}"
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
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
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


def _optional(field: Any) -> bool:
    """A setting marked [`OPTIONAL_SETTING`][emkit.registry.OPTIONAL_SETTING]."""
    return all(field.metadata.get(key) == value for key, value in registry.OPTIONAL_SETTING.items())
