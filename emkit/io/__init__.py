"""Save and load fitted models as JSON: no pickle, exact floats, every field checked on the way in.

[`save`][emkit.io.save] writes a [`FitResult`][emkit.em.FitResult] of any registered model, or a
fitted estimator of a registered class ([`GaussianMixture`][emkit.estimators.GaussianMixture],
[`BernoulliMixture`][emkit.estimators.BernoulliMixture],
[`PoissonMixture`][emkit.estimators.PoissonMixture], or a plugin's); [`load`][emkit.io.load] reads
either back. Models, families, parameter classes and estimators are found by name in
[`emkit.registry`][emkit.registry], the one place that says which classes a file may name.

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
                  "restart_objectives": ARRAY, "collapsed_restarts": [...],
                  "n_start_iter": ...},
          "estimator": {"type": "GaussianMixture", "params": {...constructor parameters...},
                        "feature_names_in": null | ["a", "b"],     # kind "estimator" only
                        "state": {...}}     # optional: what the fit learned beyond the result
                                            # (KeepsFittedState, e.g. a CategoricalMixture's levels)
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

Restart report
    ``collapsed_restarts`` (the indices of the runs that ended with a collapsed component) and
    ``n_start_iter`` (EM iterations spent choosing the starts, e.g. emEM's short runs) were added
    to version 2 as optional keys: files written before them load with ``[]`` and ``0``.
    [`FitResult.restarts_at_best`][emkit.em.FitResult] is computed from ``restart_objectives``.

Version 1
    Files of format version 1 (emkit's first format, mixtures only) are read by translating
    them to version 2 first; errors in their arrays name the field of the translation.

Safety
    * Nothing is ever unpickled or imported by a name read from the file: only classes
      registered in [`emkit.registry`][emkit.registry] are rebuilt.
    * A file that is truncated, not JSON, from a newer format version, or hand-edited into a
      broken model (unknown types, missing or extra fields, wrong shapes, non-finite values,
      negative variances, covariances that are not positive definite, weights that do not sum
      to 1) raises ``ValueError`` starting with the file name and naming the field. The
      parameters go through the model's own ``validate_params`` before anything is returned;
      the loaded parameters are the saved ones, bit for bit.
    * Writing goes to a temporary file in the target directory that is then renamed over the
      target (``os.replace``), so a failed save never destroys an existing file.

Modules
    ``schema`` (the format's name, versions, keys and dtypes), ``writing`` ([`save`][emkit.io.save],
    [`to_dict`][emkit.io.to_dict]: the document and the atomic write), ``reading``
    ([`load`][emkit.io.load], [`from_dict`][emkit.io.from_dict]: decoding and checking version 2),
    ``legacy`` (version 1 translated to version 2), ``fields`` (the readers that name the field of
    an error).
"""

from __future__ import annotations

from emkit.io.reading import from_dict, load
from emkit.io.schema import FORMAT_NAME, FORMAT_VERSION
from emkit.io.writing import save, to_dict
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
