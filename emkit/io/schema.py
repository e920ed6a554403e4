"""The layout of emkit's model file: its name and versions, its keys and array dtypes, which
fields of a class it holds, and which class a nested name stands for.

Shared by ``emkit.io.writing``, ``emkit.io.reading`` and ``emkit.io.legacy``, so the
three agree on the format by construction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emkit import registry

__all__ = [
    "ARRAY_KEYS",
    "DTYPES",
    "FIT_FIELDS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "KINDS",
    "MAPPING_KEY",
    "OBJECT_KEYS",
    "OLDEST_VERSION",
    "OPTIONAL_FIT_FIELDS",
    "PARAMS_KEYS",
    "TOP_FIELDS",
    "TUPLE_KEY",
    "resolve_nested",
]

FORMAT_NAME = "emkit-model"
"""Value of the file's ``"format"`` field."""

FORMAT_VERSION = 2
"""The format version this emkit writes; it reads this version and every older one."""

#: The oldest format version this emkit reads.
OLDEST_VERSION = 1

#: Array dtypes a file may hold, by the name written in ``"dtype"``.
DTYPES: dict[str, np.dtype[Any]] = {
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

#: The values of the document's ``"kind"``.
KINDS = ("fit_result", "estimator")

#: The document's keys (``"estimator"`` is added for kind ``"estimator"``).
TOP_FIELDS = {"format", "version", "emkit_version", "kind", "model", "params", "fit"}

#: The keys of the document's ``"fit"``.
FIT_FIELDS = {
    "log_likelihood",
    "log_prior",
    "history",
    "n_iter",
    "converged",
    "n_samples",
    "n_features",
    "restart",
    "restart_objectives",
    "collapsed_restarts",
    "n_start_iter",
}

#: Keys of ``"fit"`` that files written before them lack (their defaults: no collapsed
#: restart, no iterations spent on the starts).
OPTIONAL_FIT_FIELDS = {"collapsed_restarts", "n_start_iter"}

#: The keys of an ARRAY.
ARRAY_KEYS = {"dtype", "shape", "data"}

#: The keys of an OBJECT (a family or model).
OBJECT_KEYS = {"type", "settings"}

#: The keys of a PARAMS tree.
PARAMS_KEYS = {"type", "fields"}

#: The one key of a tuple setting.
TUPLE_KEY = "tuple"

#: The one key of a mapping estimator parameter (``column_families``): a list of
#: ``[key, setting]`` pairs, the keys strings or integers.
MAPPING_KEY = "mapping"


def resolve_nested(name: str) -> type:
    """The class a nested OBJECT's name stands for: a registered family, else a model.

    Parameters
    ----------
    name : str
        The ``"type"`` of an OBJECT inside settings.

    Returns
    -------
    type
        The registered family of that name, else the registered model.

    Raises
    ------
    ValueError
        If ``name`` is neither (the model registry's message).
    """
    try:
        return registry.family_class(name)
    except ValueError:
        return registry.model_class(name)
