"""Small readers of a decoded JSON document that name the field they read.

Each checks one value and raises ``InvalidDocumentError`` whose message names the field by
its path in the document (``"fit.history"``, ``"params.fields.weights"``) and the rule it
breaks; [`emkit.io.load`][emkit.io.load] and [`emkit.io.from_dict`][emkit.io.from_dict] put the file
name in front. Shared by ``emkit.io.reading`` and ``emkit.io.legacy``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from emkit._backend import Array
from emkit.io.schema import ARRAY_KEYS, DTYPES

__all__ = [
    "InvalidDocumentError",
    "array",
    "exact_keys",
    "field",
    "integer",
    "mapping",
    "real",
]


class InvalidDocumentError(ValueError):
    """A problem in a document, before the file name is attached."""


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    """``value`` as a JSON object.

    Parameters
    ----------
    value : object
        A node of the document.
    where : str
        Its path in the document, for the message.

    Returns
    -------
    Mapping
        ``value`` itself.

    Raises
    ------
    InvalidDocumentError
        If ``value`` is not a JSON object.
    """
    if not isinstance(value, dict):
        raise InvalidDocumentError(f"`{where}` must be a JSON object; got {type(value).__name__}")
    return value


def field(spec: Mapping[str, Any], key: str, where: str) -> Any:
    """The required entry ``key`` of the JSON object at ``where``.

    Parameters
    ----------
    spec : Mapping
        A JSON object of the document.
    key : str
        The entry to read.
    where : str
        The path of ``spec`` in the document (``""`` for the document itself).

    Returns
    -------
    object
        ``spec[key]``.

    Raises
    ------
    InvalidDocumentError
        If ``spec`` has no entry ``key``.
    """
    if key not in spec:
        name = f"{where}.{key}" if where else key
        raise InvalidDocumentError(f"missing field `{name}`")
    return spec[key]


def exact_keys(
    spec: Mapping[str, Any], expected: set[str], where: str, optional: set[str] | None = None
) -> None:
    """``spec`` has exactly the ``expected`` keys (those in ``optional`` may be absent).

    Parameters
    ----------
    spec : Mapping
        A JSON object of the document.
    expected : set of str
        The keys it must have.
    where : str
        Its path in the document, for the message.
    optional : set of str, optional
        Keys of ``expected`` that may be absent.

    Raises
    ------
    InvalidDocumentError
        If ``spec`` has a key not in ``expected``, or lacks one that is not optional.
    """
    extra = sorted(set(spec) - expected)
    if extra:
        raise InvalidDocumentError(
            f"unknown field(s) {extra} in `{where}`; expected {sorted(expected)}"
        )
    missing = sorted(expected - set(spec) - (optional or set()))
    if missing:
        raise InvalidDocumentError(f"missing field(s) {missing} in `{where}`")


def integer(value: Any, where: str, minimum: int | None = None) -> int:
    """``value`` as a JSON integer (not a boolean), at least ``minimum``.

    Parameters
    ----------
    value : object
        A node of the document.
    where : str
        Its path in the document, for the message.
    minimum : int, optional
        The smallest value allowed.

    Returns
    -------
    int
        ``value`` itself.

    Raises
    ------
    InvalidDocumentError
        If ``value`` is not an integer, or is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidDocumentError(f"`{where}` must be an integer; got {value!r}")
    if minimum is not None and value < minimum:
        raise InvalidDocumentError(f"`{where}` must be >= {minimum}; got {value}")
    return value


def real(value: Any, where: str) -> float:
    """``value`` as a JSON number (not a boolean).

    Parameters
    ----------
    value : object
        A node of the document.
    where : str
        Its path in the document, for the message.

    Returns
    -------
    float
        ``value`` as a float.

    Raises
    ------
    InvalidDocumentError
        If ``value`` is not a number.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidDocumentError(f"`{where}` must be a number; got {value!r}")
    return float(value)


def array(value: Any, where: str, ndim: int | None) -> Array:
    """The numpy array of an ARRAY ``{"dtype": ..., "shape": [...], "data": [...]}``.

    Parameters
    ----------
    value : object
        A node of the document.
    where : str
        Its path in the document, for the message.
    ndim : int or None
        The number of dimensions it must have; ``None`` allows any.

    Returns
    -------
    numpy.ndarray
        The array, of the saved dtype and shape; floats are exactly the saved values.

    Raises
    ------
    InvalidDocumentError
        If ``value`` is not an ARRAY of a supported dtype whose data fit its dtype and shape,
        if it has the wrong number of dimensions, or if it holds a value outside the range of
        its dtype or (for floats) a non-finite value.
    """
    spec = mapping(value, where)
    exact_keys(spec, ARRAY_KEYS, where)
    dtype_name = spec["dtype"]
    dtype = DTYPES.get(dtype_name) if isinstance(dtype_name, str) else None
    if dtype is None:
        raise InvalidDocumentError(
            f"`{where}.dtype` must be one of {', '.join(DTYPES)}; got {dtype_name!r}"
        )
    shape = spec["shape"]
    if not isinstance(shape, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape
    ):
        raise InvalidDocumentError(
            f"`{where}.shape` must be a list of non-negative integers; got {shape!r}"
        )
    if ndim is not None and len(shape) != ndim:
        raise InvalidDocumentError(f"`{where}` must be {ndim}-D; got shape {tuple(shape)}")
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
        raise InvalidDocumentError(
            f"`{where}.data` must be a flat list of {rule} for dtype {dtype}"
        )
    size = math.prod(shape)
    if len(data) != size:
        raise InvalidDocumentError(
            f"`{where}.data` must hold prod(shape) = {size} values for shape {tuple(shape)}; "
            f"got {len(data)}"
        )
    try:
        # Floats go through float64, where JSON's shortest decimals are exact, then to float32
        # (a value beyond float32's range becomes inf there, refused below).
        with np.errstate(over="ignore"):
            arr = np.array(data, dtype=np.float64 if dtype.kind == "f" else dtype).astype(dtype)
    except OverflowError:
        raise InvalidDocumentError(
            f"`{where}.data` holds a value outside the range of {dtype}"
        ) from None
    if dtype.kind == "f" and not np.isfinite(arr).all():
        raise InvalidDocumentError(f"`{where}` must hold only finite values of {dtype}")
    return np.asarray(arr.reshape(shape))
