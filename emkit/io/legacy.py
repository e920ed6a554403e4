"""Version 1 of the file format (emkit's first, mixtures only), translated to version 2.

A version-1 document holds a [`FiniteMixture`][emkit.mixture.FiniteMixture] of one family as
``model: {"type": "FiniteMixture", "family": {"name", "attrs"}, "n_components",
"weight_concentration"}``, its parameters as ``params: {"weights", "components"}`` and an
estimator's class as ``estimator.class``. ``upgrade_v1`` rewrites it in the layout of
version 2, which ``emkit.io.reading`` then checks like any other, so errors in its arrays
name the field of the translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emkit import registry
from emkit.io.fields import InvalidDocumentError, exact_keys, field, mapping
from emkit.io.schema import FORMAT_VERSION

__all__ = ["upgrade_v1"]


def upgrade_v1(doc: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """A version-1 document (a FiniteMixture of one family) in the layout of version 2.

    Parameters
    ----------
    doc : Mapping
        The document, whose ``format``, ``version`` and ``kind`` have been checked.
    kind : {"fit_result", "estimator"}
        Its ``kind``.

    Returns
    -------
    dict
        The same document in the layout of version 2, with ``"version": 2``; its arrays and
        values are not checked yet.

    Raises
    ------
    InvalidDocumentError
        If the version-1 layout itself is broken (not a FiniteMixture, an unknown family,
        a missing field, a family setting that is not a scalar).
    """
    model = mapping(field(doc, "model", ""), "model")
    if model.get("type") != "FiniteMixture":
        raise InvalidDocumentError(
            f"`model.type` must be 'FiniteMixture'; got {model.get('type')!r}"
        )
    family = mapping(field(model, "family", "model"), "model.family")
    name = field(family, "name", "model.family")
    try:
        family_cls = registry.family_class(name)
    except (TypeError, ValueError) as exc:
        raise InvalidDocumentError(f"`model.family.name`: {exc}") from None
    family_attrs = mapping(field(family, "attrs", "model.family"), "model.family.attrs")
    for key, value in family_attrs.items():
        if isinstance(value, dict | list):
            raise InvalidDocumentError(
                f"`model.family.attrs.{key}` must be a scalar; got {value!r}"
            )
    params = mapping(field(doc, "params", ""), "params")
    exact_keys(params, {"weights", "components"}, "params")
    upgraded = {key: value for key, value in doc.items() if key not in ("model", "params")}
    upgraded["version"] = FORMAT_VERSION
    upgraded["model"] = {
        "type": "FiniteMixture",
        "settings": {
            "family": {"type": name, "settings": family_attrs},
            "n_components": field(model, "n_components", "model"),
            "weight_concentration": field(model, "weight_concentration", "model"),
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
        estimator = mapping(field(doc, "estimator", ""), "estimator")
        upgraded["estimator"] = {
            ("type" if key == "class" else key): value for key, value in estimator.items()
        }
    return upgraded
