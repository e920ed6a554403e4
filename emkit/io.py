"""Save and load fitted models as JSON: no pickle, exact floats, every field checked on the way in.

:func:`save` writes a fitted estimator (:class:`~emkit.GaussianMixture`,
:class:`~emkit.BernoulliMixture`, :class:`~emkit.PoissonMixture`) or a driver result
(:class:`~emkit.FitResult` of a :class:`~emkit.FiniteMixture`); :func:`load` reads either back.

The file
    One JSON object::

        {
          "format": "emkit-model", "version": 1, "emkit_version": "0.1.0",
          "kind": "fit_result" | "estimator",
          "model": {"type": "FiniteMixture", "n_components": 2, "weight_concentration": 1.0,
                    "family": {"name": "Gaussian",
                               "attrs": {"covariance_type": "full", "reg_covar": 1e-06}}},
          "params": {"weights": ARRAY, "components": {"means": ARRAY, "covariances": ARRAY}},
          "fit": {"log_likelihood": ..., "log_prior": ..., "history": ARRAY, "n_iter": ...,
                  "converged": ..., "n_samples": ..., "n_features": ..., "restart": ...,
                  "restart_objectives": ARRAY},
          "estimator": {"class": "GaussianMixture", "params": {...constructor parameters...},
                        "feature_names_in": null | ["a", "b"]}     # kind "estimator" only
        }

    where ``ARRAY`` is ``{"dtype": "float64" | "float32", "shape": [...], "data": [...]}`` with
    the values in row-major order. Python writes a float as the shortest decimal that reads back
    to the same float64 (``repr``), so every parameter round-trips bit for bit; float32 arrays
    are written through their exact float64 value and cast back. NaN and infinity are refused.

    An estimator's constructor parameters are saved as they are; list-valued starting values
    (``weights_init`` and the like) come back as arrays, and a ``random_state`` that is a numpy
    Generator or RandomState (not JSON) comes back as ``None``, with a warning when saving.

Safety
    * Nothing is ever unpickled or imported by name: component families come from a registry
      (Gaussian, Bernoulli, Poisson; :func:`register_family` adds a plugin family), estimators
      from the three known classes.
    * A file that is truncated, not JSON, from a newer format version, or hand-edited into a
      broken model (wrong shapes, negative variances, covariances that are not positive
      definite, weights that do not sum to 1, an unknown family, missing or extra fields)
      raises ``ValueError`` naming the file and what is wrong. The parameters go through the
      model's own ``validate_params`` before anything is returned.
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
from typing import Any, TypeVar

import attrs
import numpy as np

from emkit._backend import Array
from emkit.em import FitResult
from emkit.families import Bernoulli, CanonicalFamily, Gaussian, GaussianParams, MeanParams, Poisson
from emkit.mixture import FiniteMixture, MixtureParams
from emkit.registry import estimator_class

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "WEIGHT_SUM_ATOL",
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
FORMAT_VERSION = 1

#: How far the stored mixing weights may sum from 1. Fitted weights are normalised in float64,
#: so their sum is 1 to within a few ulps; anything further off was edited by hand.
WEIGHT_SUM_ATOL = 1e-9

_DTYPES: dict[str, np.dtype[Any]] = {
    "float64": np.dtype(np.float64),
    "float32": np.dtype(np.float32),
}
_KINDS = ("fit_result", "estimator")

T = TypeVar("T", bound=type)

# name -> (family class, parameter class)
_FAMILIES: dict[str, tuple[type, type]] = {}


def register_family(cls: T, params_cls: type | None = None) -> T:
    """Allow :func:`load` to rebuild mixtures of the family ``cls``.

    Parameters
    ----------
    cls : attrs class
        The family. Its ``__init__`` fields must hold JSON scalars (str, int, float, bool, None);
        they are saved by name and passed back to ``cls(**fields)`` on loading.
    params_cls : attrs class, optional
        The class of its component parameters, whose ``__init__`` fields are all arrays.
        Defaults to :class:`~emkit.MeanParams` for a :class:`~emkit.CanonicalFamily`.

    Returns
    -------
    cls, so that this works as a class decorator.

    Raises
    ------
    TypeError
        If ``cls`` or ``params_cls`` is not an attrs class, or ``params_cls`` is missing.
    ValueError
        If another class is already registered under the same name.
    """
    if not (isinstance(cls, type) and attrs.has(cls)):
        raise TypeError(f"`cls` must be an attrs class (a family); got {cls!r}")
    if params_cls is None:
        if not issubclass(cls, CanonicalFamily):
            raise TypeError(
                f"`params_cls` is required for {cls.__name__}, which is not a CanonicalFamily"
            )
        params_cls = MeanParams
    if not (isinstance(params_cls, type) and attrs.has(params_cls)):
        raise TypeError(f"`params_cls` must be an attrs class; got {params_cls!r}")
    name = cls.__name__
    known = _FAMILIES.get(name)
    if known is not None and known[0] is not cls:
        raise ValueError(
            f"a different family class is already registered as {name!r} ({known[0]!r})"
        )
    _FAMILIES[name] = (cls, params_cls)
    return cls


def registered_families() -> tuple[str, ...]:
    """Names of the families :func:`load` can rebuild, sorted."""
    return tuple(sorted(_FAMILIES))


register_family(Gaussian, GaussianParams)
register_family(Bernoulli)
register_family(Poisson)


# -- writing -----------------------------------------------------------------------------------
def save(fitted: Any, path: str | os.PathLike[str]) -> None:
    """Write a fitted estimator or a :class:`~emkit.FitResult` to ``path`` as JSON.

    Parameters
    ----------
    fitted : GaussianMixture, BernoulliMixture, PoissonMixture or FitResult
        A fitted estimator, or the result of :func:`emkit.fit` on a :class:`FiniteMixture`.
    path : str or path-like
        The file to write (conventionally ``*.json``). An existing file is replaced only once
        the new one is completely written.

    Raises
    ------
    TypeError
        If ``fitted`` is neither, or holds something JSON cannot represent.
    ValueError
        If ``fitted`` is an estimator that is not fitted, or holds NaN or infinity.
    """
    text = json.dumps(to_dict(fitted), indent=1, allow_nan=False)
    _write_atomic(Path(path), text + "\n")


def to_dict(fitted: Any) -> dict[str, Any]:
    """The JSON document of :func:`save` as a plain dict (see the module docstring)."""
    from emkit import __version__
    from emkit.estimators import MixtureEstimator

    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "emkit_version": __version__,
    }
    if isinstance(fitted, MixtureEstimator):
        name = type(fitted).__name__
        if estimator_class(name) is not type(fitted):
            raise TypeError(f"cannot save {name}: it is not a registered estimator")
        result = fitted.fitted_result()  # NotFittedError unless fitted
        doc["kind"] = "estimator"
        doc.update(_encode_result(result))
        feature_names = getattr(fitted, "feature_names_in_", None)
        doc["estimator"] = {
            "class": name,
            "params": {
                key: _encode_param(key, value)
                for key, value in fitted.get_params(deep=False).items()
            },
            "feature_names_in": None if feature_names is None else [str(n) for n in feature_names],
        }
    elif isinstance(fitted, FitResult):
        doc["kind"] = "fit_result"
        doc.update(_encode_result(fitted))
    else:
        raise TypeError(
            "`fitted` must be a fitted GaussianMixture, BernoulliMixture, PoissonMixture or an "
            f"emkit.FitResult; got {type(fitted).__name__}"
        )
    _check_finite(doc, "")
    return doc


def _encode_result(result: FitResult[Any]) -> dict[str, Any]:
    model = result.model
    if not isinstance(model, FiniteMixture):
        raise TypeError(
            f"only FitResults of a FiniteMixture can be saved; got a {type(model).__name__}"
        )
    family_name = type(model.family).__name__
    if _FAMILIES.get(family_name, (None,))[0] is not type(model.family):
        raise TypeError(
            f"family {family_name} is not registered; call emkit.io.register_family"
            f"({family_name}) before saving"
        )
    family_attrs = {}
    family_cls: Any = type(model.family)
    for field in attrs.fields(family_cls):
        if not field.init:
            continue
        value = getattr(model.family, field.name)
        if not _is_json_scalar(value):
            raise TypeError(
                f"cannot save family attribute `{field.name}` of {family_name}: "
                f"{type(value).__name__} is not a JSON scalar"
            )
        family_attrs[field.name] = _plain_scalar(value)
    _, params_cls = _FAMILIES[family_name]
    components = result.params.components
    if not isinstance(components, params_cls):
        raise TypeError(
            f"component parameters of a {family_name} mixture must be {params_cls.__name__}; "
            f"got {type(components).__name__}"
        )
    return {
        "model": {
            "type": "FiniteMixture",
            "n_components": int(model.n_components),
            "weight_concentration": float(model.weight_concentration),
            "family": {"name": family_name, "attrs": family_attrs},
        },
        "params": {
            "weights": _encode_array(result.params.weights),
            "components": {
                field.name: _encode_array(getattr(components, field.name))
                for field in attrs.fields(params_cls)
                if field.init
            },
        },
        "fit": {
            "log_likelihood": float(result.log_likelihood),
            "log_prior": float(result.log_prior),
            "history": _encode_array(np.asarray(result.history, dtype=np.float64)),
            "n_iter": int(result.n_iter),
            "converged": bool(result.converged),
            "n_samples": float(result.n_samples),
            "n_features": int(result.n_features),
            "restart": int(result.restart),
            "restart_objectives": _encode_array(
                np.asarray(result.restart_objectives, dtype=np.float64)
            ),
        },
    }


def _encode_array(value: Any) -> dict[str, Any]:
    arr = np.asarray(value)
    if arr.dtype not in _DTYPES.values():
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise TypeError(f"cannot save an array of dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    # tolist() turns float32 into the Python float of the same value, which casts back exactly.
    return {"dtype": arr.dtype.name, "shape": list(arr.shape), "data": arr.ravel().tolist()}


def _is_json_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | bool | numbers.Integral | numbers.Real)


def _plain_scalar(value: Any) -> Any:
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value)


def _encode_param(name: str, value: Any) -> Any:
    if name == "random_state" and not (
        value is None or (isinstance(value, int | np.integer) and not isinstance(value, bool))
    ):
        warnings.warn(
            f"random_state={value!r} cannot be saved; the loaded estimator gets "
            "random_state=None (this only affects refitting and sample())",
            UserWarning,
            stacklevel=4,
        )
        return None
    if _is_json_scalar(value):
        return _plain_scalar(value)
    if isinstance(value, np.ndarray | list | tuple):
        return _encode_array(value)
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
    """Read a model written by :func:`save`.

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
        the field and the rule it breaks, e.g.
        ``"model.json: `params.weights` must sum to 1; got 1.2"``.
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
    if version < 1:
        raise _InvalidError(f"`version` must be >= 1; got {version}")
    kind = _field(doc, "kind", "")
    if kind not in _KINDS:
        raise _InvalidError(f"`kind` must be one of {', '.join(map(repr, _KINDS))}; got {kind!r}")
    result = _decode_result(doc)
    if kind == "fit_result":
        return result
    return _decode_estimator(_mapping(_field(doc, "estimator", ""), "estimator"), result)


def _decode_result(doc: Mapping[str, Any]) -> FitResult[Any]:
    model = _decode_model(_mapping(_field(doc, "model", ""), "model"))
    fit = _mapping(_field(doc, "fit", ""), "fit")
    n_features = _integer(_field(fit, "n_features", "fit"), "fit.n_features", minimum=1)
    params = _decode_params(_mapping(_field(doc, "params", ""), "params"), model, n_features)
    history = _array(_field(fit, "history", "fit"), "fit.history", ndim=1)
    n_iter = _integer(_field(fit, "n_iter", "fit"), "fit.n_iter", minimum=0)
    if history.shape != (n_iter + 1,):
        raise _InvalidError(
            f"`fit.history` must have n_iter + 1 = {n_iter + 1} entries; got {history.shape[0]}"
        )
    restart_objectives = _array(
        _field(fit, "restart_objectives", "fit"), "fit.restart_objectives", ndim=1
    )
    restart = _integer(_field(fit, "restart", "fit"), "fit.restart", minimum=0)
    if restart >= restart_objectives.shape[0]:
        raise _InvalidError(
            f"`fit.restart` must index `fit.restart_objectives` "
            f"(length {restart_objectives.shape[0]}); got {restart}"
        )
    converged = _field(fit, "converged", "fit")
    if not isinstance(converged, bool):
        raise _InvalidError(f"`fit.converged` must be true or false; got {converged!r}")
    n_samples = _real(_field(fit, "n_samples", "fit"), "fit.n_samples")
    if n_samples <= 0:
        raise _InvalidError(f"`fit.n_samples` must be > 0; got {n_samples!r}")
    return FitResult(
        model=model,
        params=params,
        log_likelihood=_real(_field(fit, "log_likelihood", "fit"), "fit.log_likelihood"),
        log_prior=_real(_field(fit, "log_prior", "fit"), "fit.log_prior"),
        history=history,
        n_iter=n_iter,
        converged=converged,
        n_samples=n_samples,
        n_features=n_features,
        restart=restart,
        restart_objectives=restart_objectives,
    )


def _decode_model(spec: Mapping[str, Any]) -> FiniteMixture[Any, Any]:
    kind = _field(spec, "type", "model")
    if kind != "FiniteMixture":
        raise _InvalidError(f"`model.type` must be 'FiniteMixture'; got {kind!r}")
    family_spec = _mapping(_field(spec, "family", "model"), "model.family")
    name = _field(family_spec, "name", "model.family")
    if not isinstance(name, str) or name not in _FAMILIES:
        raise _InvalidError(
            f"unknown family {name!r} in `model.family.name`; known families: "
            f"{', '.join(registered_families())} (register a plugin family with "
            "emkit.io.register_family before loading)"
        )
    family_cls, _ = _FAMILIES[name]
    family_attrs = _mapping(_field(family_spec, "attrs", "model.family"), "model.family.attrs")
    expected = {f.name for f in attrs.fields(family_cls) if f.init}
    _exact_keys(family_attrs, expected, "model.family.attrs", allow_missing=False)
    for key, value in family_attrs.items():
        if isinstance(value, dict | list):
            raise _InvalidError(f"`model.family.attrs.{key}` must be a scalar; got {value!r}")
    try:
        family = family_cls(**family_attrs)
        return FiniteMixture(
            family,
            _integer(_field(spec, "n_components", "model"), "model.n_components", minimum=1),
            _real(_field(spec, "weight_concentration", "model"), "model.weight_concentration"),
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, _InvalidError):
            raise
        raise _InvalidError(f"invalid model specification: {exc}") from None


def _decode_params(
    spec: Mapping[str, Any], model: FiniteMixture[Any, Any], n_features: int
) -> MixtureParams[Any]:
    _exact_keys(spec, {"weights", "components"}, "params", allow_missing=False)
    weights = _array(spec["weights"], "params.weights", ndim=1)
    if weights.shape != (model.n_components,):
        raise _InvalidError(
            f"`params.weights` must have shape (n_components,) = ({model.n_components},); "
            f"got {weights.shape}"
        )
    if (weights < 0).any():
        raise _InvalidError(f"`params.weights` must be >= 0; got {weights.tolist()}")
    total = float(weights.sum(dtype=np.float64))
    if abs(total - 1.0) > WEIGHT_SUM_ATOL:
        raise _InvalidError(f"`params.weights` must sum to 1; got {total!r}")
    _, params_cls = _FAMILIES[type(model.family).__name__]
    components_spec = _mapping(spec["components"], "params.components")
    fields = {f.name for f in attrs.fields(params_cls) if f.init}
    _exact_keys(components_spec, fields, "params.components", allow_missing=False)
    arrays = {
        key: _array(value, f"params.components.{key}", ndim=None)
        for key, value in components_spec.items()
    }
    try:
        components = params_cls(**arrays)
        params = MixtureParams(weights, components)
        # The model's own checks: shapes for this n_components and n_features, value ranges.
        model.validate_params(params, n_features)
    except (TypeError, ValueError) as exc:
        raise _InvalidError(f"invalid `params.components`: {exc}") from None
    return params


def _decode_estimator(spec: Mapping[str, Any], result: FitResult[Any]) -> Any:
    name = _field(spec, "class", "estimator")
    try:
        cls: Any = estimator_class(name)
    except (TypeError, ValueError) as exc:
        raise _InvalidError(f"`estimator.class`: {exc}") from None
    params_spec = _mapping(_field(spec, "params", "estimator"), "estimator.params")
    expected = set(cls.param_names())
    _exact_keys(params_spec, expected, "estimator.params", allow_missing=False)
    params = {
        key: _array(value, f"estimator.params.{key}", ndim=None)
        if isinstance(value, dict)
        else value
        for key, value in params_spec.items()
    }
    for key, value in params.items():
        if isinstance(value, list):
            raise _InvalidError(
                f"`estimator.params.{key}` must be a scalar or an array; got a list"
            )
    estimator = cls(**params)
    try:
        model = estimator.build_model()
        # The other settings only matter for refitting, but a file never holds invalid ones.
        estimator.validate_settings()
    except (TypeError, ValueError) as exc:
        raise _InvalidError(f"invalid `estimator.params`: {exc}") from None
    if model != result.model:
        raise _InvalidError(
            f"`estimator.params` describe {model!r}, but `model` holds {result.model!r}"
        )
    feature_names = _field(spec, "feature_names_in", "estimator")
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
    spec: Mapping[str, Any], expected: set[str], where: str, *, allow_missing: bool
) -> None:
    extra = sorted(set(spec) - expected)
    if extra:
        raise _InvalidError(f"unknown field(s) {extra} in `{where}`; expected {sorted(expected)}")
    missing = sorted(expected - set(spec))
    if missing and not allow_missing:
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
    _exact_keys(spec, {"dtype", "shape", "data"}, where, allow_missing=False)
    dtype = spec["dtype"]
    if dtype not in _DTYPES:
        raise _InvalidError(f"`{where}.dtype` must be one of {sorted(_DTYPES)}; got {dtype!r}")
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
    if not isinstance(data, list) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in data
    ):
        raise _InvalidError(f"`{where}.data` must be a flat list of numbers")
    size = math.prod(shape)
    if len(data) != size:
        raise _InvalidError(
            f"`{where}.data` must hold prod(shape) = {size} values for shape {tuple(shape)}; "
            f"got {len(data)}"
        )
    arr = np.array(data, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise _InvalidError(f"`{where}` must hold only finite values")
    return np.asarray(arr.astype(_DTYPES[dtype]).reshape(shape))
