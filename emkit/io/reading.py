"""Reading a model file: [`load`][emkit.io.load] and [`from_dict`][emkit.io.from_dict] decode a
version-2 document (a version-1 one is translated by ``emkit.io.legacy`` first) and check every
field on the way.

Problems are raised as ``InvalidDocumentError`` naming the field by its
path in the document; [`load`][emkit.io.load] and [`from_dict`][emkit.io.from_dict] turn them into
``ValueError`` starting with the file name (or ``source``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from emkit import registry
from emkit._backend import Array
from emkit.em import FitResult
from emkit.io.fields import (
    InvalidDocumentError,
    array,
    exact_keys,
    field,
    integer,
    mapping,
    real,
)
from emkit.io.legacy import upgrade_v1
from emkit.io.schema import (
    FIT_FIELDS,
    FORMAT_NAME,
    FORMAT_VERSION,
    KINDS,
    MAPPING_KEY,
    OBJECT_KEYS,
    OLDEST_VERSION,
    OPTIONAL_FIT_FIELDS,
    PARAMS_KEYS,
    TOP_FIELDS,
    TUPLE_KEY,
    resolve_nested,
)
from emkit.io.writing import encode_object
from emkit.protocols import KeepsFittedState, LatentVariableModel
from emkit.stats import init_fields

__all__ = ["from_dict", "load"]


def load(path: str | os.PathLike[str]) -> Any:
    """Read a model written by [`save`][emkit.io.save] (format version 2, or version 1).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    A fitted estimator (the class that was saved) or a [`FitResult`][emkit.em.FitResult], whose
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
    except InvalidDocumentError as exc:
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
    raise InvalidDocumentError(f"holds {name}, which is never a valid parameter value")


def from_dict(doc: Any, source: str = "<model>") -> Any:
    """Rebuild what [`to_dict`][emkit.io.to_dict] produced; ``source`` prefixes error messages."""
    try:
        return _decode(doc)
    except InvalidDocumentError as exc:
        raise ValueError(f"{source}: {exc}") from None
    except RecursionError:
        raise ValueError(f"{source}: not an emkit model file (nested too deeply)") from None


def _decode(doc: Any) -> Any:
    doc = mapping(doc, "the document")
    fmt = doc.get("format")
    if fmt != FORMAT_NAME:
        raise InvalidDocumentError(
            f"not an emkit model file (`format` must be {FORMAT_NAME!r}; got {fmt!r})"
        )
    version = integer(field(doc, "version", ""), "version")
    if version > FORMAT_VERSION:
        raise InvalidDocumentError(
            f"written in format version {version} by a newer emkit; this emkit reads versions "
            f"up to {FORMAT_VERSION}: upgrade emkit to load it"
        )
    if version < OLDEST_VERSION:
        raise InvalidDocumentError(f"`version` must be >= {OLDEST_VERSION}; got {version}")
    kind = field(doc, "kind", "")
    if kind not in KINDS:
        raise InvalidDocumentError(
            f"`kind` must be one of {', '.join(map(repr, KINDS))}; got {kind!r}"
        )
    if version == 1:
        doc = upgrade_v1(doc, kind)
    expected = TOP_FIELDS | ({"estimator"} if kind == "estimator" else set())
    exact_keys(doc, expected, "the document", optional={"emkit_version"})
    result = _decode_result(doc)
    if kind == "fit_result":
        return result
    return _decode_estimator(mapping(doc["estimator"], "estimator"), result)


def _decode_result(doc: Mapping[str, Any]) -> FitResult[Any]:
    model = _decode_object(mapping(doc["model"], "model"), "model", role="model")
    fit = mapping(doc["fit"], "fit")
    exact_keys(fit, FIT_FIELDS, "fit", optional=OPTIONAL_FIT_FIELDS)
    n_features = integer(fit["n_features"], "fit.n_features", minimum=1)
    params = _decode_model_params(doc["params"], model, n_features)
    history = array(fit["history"], "fit.history", ndim=1)
    n_iter = integer(fit["n_iter"], "fit.n_iter", minimum=0)
    if history.shape != (n_iter + 1,):
        raise InvalidDocumentError(
            f"`fit.history` must have n_iter + 1 = {n_iter + 1} entries; got {history.shape[0]}"
        )
    restart_objectives = array(fit["restart_objectives"], "fit.restart_objectives", ndim=1)
    restart = integer(fit["restart"], "fit.restart", minimum=0)
    if restart >= restart_objectives.shape[0]:
        raise InvalidDocumentError(
            f"`fit.restart` must index `fit.restart_objectives` "
            f"(length {restart_objectives.shape[0]}); got {restart}"
        )
    converged = fit["converged"]
    if not isinstance(converged, bool):
        raise InvalidDocumentError(f"`fit.converged` must be true or false; got {converged!r}")
    n_samples = real(fit["n_samples"], "fit.n_samples")
    if n_samples <= 0:
        raise InvalidDocumentError(f"`fit.n_samples` must be > 0; got {n_samples!r}")
    collapsed = fit.get("collapsed_restarts", [])
    if not isinstance(collapsed, list):
        raise InvalidDocumentError(
            f"`fit.collapsed_restarts` must be a list of restart indices; got {collapsed!r}"
        )
    collapsed_restarts = tuple(
        integer(r, f"fit.collapsed_restarts[{i}]", minimum=0) for i, r in enumerate(collapsed)
    )
    if any(r >= restart_objectives.shape[0] for r in collapsed_restarts):
        raise InvalidDocumentError(
            f"`fit.collapsed_restarts` must index `fit.restart_objectives` "
            f"(length {restart_objectives.shape[0]}); got {list(collapsed_restarts)}"
        )
    return FitResult(
        model=model,
        params=params,
        log_likelihood=real(fit["log_likelihood"], "fit.log_likelihood"),
        log_prior=real(fit["log_prior"], "fit.log_prior"),
        history=history,
        n_iter=n_iter,
        converged=converged,
        n_samples=n_samples,
        n_features=n_features,
        restart=restart,
        restart_objectives=restart_objectives,
        collapsed_restarts=collapsed_restarts,
        n_start_iter=integer(fit.get("n_start_iter", 0), "fit.n_start_iter", minimum=0),
    )


def _decode_object(spec: Mapping[str, Any], where: str, role: str | None = None) -> Any:
    """A registered family or model from ``{"type": ..., "settings": {...}}``."""
    exact_keys(spec, OBJECT_KEYS, where)
    name = spec["type"]
    if not isinstance(name, str):
        raise InvalidDocumentError(f"`{where}.type` must be a string; got {name!r}")
    try:
        cls = registry.model_class(name) if role == "model" else resolve_nested(name)
    except ValueError as exc:
        message = str(exc)
        if role != "model":
            message = (
                f"unknown family or model {name!r}; registered families: "
                f"{', '.join(registry.registered_families())}; registered models: "
                f"{', '.join(registry.registered_models())} (register a plugin with "
                "emkit.registry.register_family or register_model before loading)"
            )
        raise InvalidDocumentError(f"`{where}.type`: {message}") from None
    settings = mapping(spec["settings"], f"{where}.settings")
    fields = {f.alias or f.name for f in init_fields(cls)}
    # Settings added after files were written (field metadata emkit.registry.OPTIONAL_SETTING) take
    # their defaults when a file omits them; every other setting must be present.
    optional = {f.alias or f.name for f in init_fields(cls) if _optional(f)}
    exact_keys(settings, fields, f"{where}.settings", optional=optional)
    kwargs = {
        key: _decode_setting(value, f"{where}.settings.{key}") for key, value in settings.items()
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InvalidDocumentError(f"invalid `{where}` ({name}): {exc}") from None


def _decode_setting(node: Any, where: str) -> Any:
    if node is None or isinstance(node, str | bool | int | float):
        return node
    if isinstance(node, list):
        return [_decode_setting(v, f"{where}[{i}]") for i, v in enumerate(node)]
    spec = mapping(node, where)
    if "type" in spec and "fields" in spec:
        return _decode_params(spec, where)
    if "type" in spec:
        return _decode_object(spec, where)
    if TUPLE_KEY in spec:
        exact_keys(spec, {TUPLE_KEY}, where)
        items = spec[TUPLE_KEY]
        if not isinstance(items, list):
            raise InvalidDocumentError(f"`{where}.{TUPLE_KEY}` must be a list; got {items!r}")
        return tuple(_decode_setting(v, f"{where}[{i}]") for i, v in enumerate(items))
    if "dtype" in spec:
        return array(spec, where, ndim=None)
    raise InvalidDocumentError(
        f"`{where}` must be a JSON scalar, a list, an array {{dtype, shape, data}}, a tuple "
        f"{{tuple}} or an object {{type, settings}}; got an object with keys {sorted(spec)}"
    )


def _decode_model_params(node: Any, model: LatentVariableModel[Any, Any], n_features: int) -> Any:
    """The parameters of ``model``, checked by its own ``validate_params``."""
    expected = registry.params_class_of(model)
    params = _decode_params(mapping(node, "params"), "params")
    if not isinstance(params, expected):
        raise InvalidDocumentError(
            f"`params.type` must be {expected.__name__!r} for a {type(model).__name__}; "
            f"got {type(params).__name__!r}"
        )
    try:
        # The model's own checks: shapes for its settings and n_features, value ranges. What it
        # returns may be normalised; the saved values are kept, bit for bit.
        model.validate_params(params, n_features)
    except (TypeError, ValueError) as exc:
        raise InvalidDocumentError(f"invalid `params`: {exc}") from None
    return params


def _decode_params(spec: Mapping[str, Any], where: str) -> Any:
    """An instance of a registered parameter class from ``{"type": ..., "fields": {...}}``."""
    exact_keys(spec, PARAMS_KEYS, where)
    name = spec["type"]
    if not isinstance(name, str):
        raise InvalidDocumentError(f"`{where}.type` must be a string; got {name!r}")
    try:
        cls = registry.params_class(name)
    except ValueError as exc:
        raise InvalidDocumentError(f"`{where}.type`: {exc}") from None
    fields = mapping(spec["fields"], f"{where}.fields")
    exact_keys(fields, {f.alias or f.name for f in init_fields(cls)}, f"{where}.fields")
    kwargs = {
        key: _decode_param_value(value, f"{where}.fields.{key}") for key, value in fields.items()
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise InvalidDocumentError(f"invalid `{where}` ({name}): {exc}") from None


def _decode_mapping(spec: Mapping[str, Any], where: str) -> dict[Any, Any]:
    """A mapping estimator parameter from its ``[key, setting]`` pairs."""
    exact_keys(spec, {MAPPING_KEY}, where)
    pairs = spec[MAPPING_KEY]
    if not isinstance(pairs, list):
        raise InvalidDocumentError(f"`{where}.{MAPPING_KEY}` must be a list; got {pairs!r}")
    result: dict[Any, Any] = {}
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise InvalidDocumentError(
                f"`{where}.{MAPPING_KEY}[{i}]` must be a [key, value] pair; got {pair!r}"
            )
        key, value = pair
        if isinstance(key, bool) or not isinstance(key, str | int) or key in result:
            raise InvalidDocumentError(
                f"`{where}.{MAPPING_KEY}[{i}]` must have a new string or integer key; got {key!r}"
            )
        result[key] = _decode_setting(value, f"{where}[{key!r}]")
    return result


def _decode_param_value(value: Any, path: str) -> Any:
    """One parameter field: an array, a number, parameters or a tuple of them."""
    if isinstance(value, dict) and "type" in value:
        return _decode_params(value, path)
    if isinstance(value, dict) and TUPLE_KEY in value:
        exact_keys(value, {TUPLE_KEY}, path)
        items = value[TUPLE_KEY]
        if not isinstance(items, list):
            raise InvalidDocumentError(f"`{path}.{TUPLE_KEY}` must be a list; got {items!r}")
        return tuple(_decode_param_value(v, f"{path}[{i}]") for i, v in enumerate(items))
    if isinstance(value, dict):
        return array(value, path, ndim=None)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise InvalidDocumentError(
        f"`{path}` must be an array {{dtype, shape, data}}, a number, parameters "
        f"{{type, fields}} or a tuple of them; got {value!r}"
    )


def _decode_estimator(spec: Mapping[str, Any], result: FitResult[Any]) -> Any:
    state = spec.get("state")
    exact_keys(
        spec,
        {"type", "params", "feature_names_in"} | ({"state"} if "state" in spec else set()),
        "estimator",
    )
    name = spec["type"]
    try:
        cls: Any = registry.estimator_class(name)
    except (TypeError, ValueError) as exc:
        raise InvalidDocumentError(f"`estimator.type`: {exc}") from None
    params_spec = mapping(spec["params"], "estimator.params")
    names = set(cls.param_names())
    exact_keys(params_spec, names, "estimator.params", optional=names & set(cls.added_params))
    params = {}
    for key, value in params_spec.items():
        if isinstance(value, list):
            raise InvalidDocumentError(
                f"`estimator.params.{key}` must be a scalar or an array; got a list"
            )
        if isinstance(value, dict) and MAPPING_KEY in value:
            value = _decode_mapping(value, f"estimator.params.{key}")
        elif isinstance(value, dict):
            value = array(value, f"estimator.params.{key}", ndim=None)
        params[key] = value
    feature_names = _feature_names(spec["feature_names_in"])
    try:
        estimator = cls(**params)
        # Fitted first: an estimator whose model keeps some parameters fixed (an HMM's
        # `params`) builds its model from its fit.
        estimator.restore_fit(result, feature_names)
        if state is not None:
            if not isinstance(estimator, KeepsFittedState):
                raise ValueError(f"a {name} keeps no fitted state; the file has `estimator.state`")
            estimator.restore_fitted_state(state)
        model = estimator.build_model()
        # The other settings only matter for refitting, but a file never holds invalid ones.
        estimator.validate_settings()
    except (TypeError, ValueError) as exc:
        raise InvalidDocumentError(f"invalid `estimator.params`: {exc}") from None
    # Compared through their saved form: exact, and defined for array-valued settings too.
    if encode_object(model, "model", role="model") != encode_object(
        result.model, "model", role="model"
    ):
        raise InvalidDocumentError(
            f"`estimator.params` describe {model!r}, but `model` holds {result.model!r}"
        )
    # The estimator's own count of input features (a regression mixture's model also holds its
    # response and concomitant columns).
    n_inputs = int(estimator.n_features_in_)
    if feature_names is not None and len(feature_names) != n_inputs:
        raise InvalidDocumentError(
            f"`estimator.feature_names_in` must name n_features = {n_inputs} "
            f"features; got {len(feature_names)}"
        )
    return estimator


def _feature_names(feature_names: Any) -> Array | None:
    if feature_names is None:
        return None
    if not isinstance(feature_names, list) or not all(isinstance(n, str) for n in feature_names):
        raise InvalidDocumentError(
            f"`estimator.feature_names_in` must be null or a list of strings; got {feature_names!r}"
        )
    return np.asarray(feature_names, dtype=object)


def _optional(field: Any) -> bool:
    """A setting marked [`OPTIONAL_SETTING`][emkit.registry.OPTIONAL_SETTING]."""
    return all(field.metadata.get(key) == value for key, value in registry.OPTIONAL_SETTING.items())
