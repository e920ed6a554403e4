"""Public contract checks for plugin authors: run them on a new family or model with pytest.

>>> import numpy as np, emkit
>>> from emkit.testing import check_family
>>> X = np.random.default_rng(0).poisson(3.0, size=(200, 2)).astype(float)
>>> check_family(emkit.Poisson(), X, n_components=2)

Each check raises ``AssertionError`` with a message that names the method at fault, the law it
breaks, by how much, and the usual causes. [`check_family`][emkit.testing.check_family] runs, in
this order:

* ingredients (a [`CanonicalFamily`][emkit.families.canonical.CanonicalFamily] only):
  ``sufficient_statistics``, ``natural_parameters``, ``log_partition`` and ``log_base_measure``
  return arrays of the documented shapes (checked first, so a shape slip never surfaces as a numpy
  broadcasting error);
* prior (a [`CanonicalFamily`][emkit.families.canonical.CanonicalFamily] only):
  ``prior() = (tau, m0)`` has ``tau >= 0`` and, when ``tau > 0``, ``m0`` in the mean space;
* statistics type: ``expected_stats`` and ``e_step`` return attrs classes of arrays;
* parameters: ``init_params`` and ``m_step`` give finite parameters that ``validate_params``
  accepts (so a NaN M-step is reported as such, not as a failure of a later law);
* shapes: ``log_prob`` is (n_samples, n_components), finite on data in the support; ``mean`` is
  (n_components, n_features); ``sample`` draws rows that pass ``validate_data``;
* normalisation: every component's density sums or integrates to 1;
* additivity: the statistics of a three-way row split add up to the statistics of all rows;
* sample weights: integer row weights equal repeated rows;
* recentering (statistics that are [`Recenterable`][emkit.protocols.Recenterable]): moving the
  reference point changes nothing the M-step sees;
* relabelling: permuting the components permutes ``log_prob``'s columns and nothing else;
* M-step optimality: on hard labels, ``maximize`` beats any other parameters on the
  complete-data objective ``sum_n log p(x_n | theta_{z_n}) + log p(theta)``;
* monotone EM: EM from a random start never decreases the objective;
* missing values (a family that handles them): a row with nothing observed has log-density 0,
  and additivity, sample weights and monotone EM hold on data with a pattern of NaN planted.

[`check_model`][emkit.testing.check_model] runs the checks that apply to any latent-variable model:
parameters, statistics type, additivity, sample weights, recentering and monotone EM (again
with values missing, for a model that handles them).

Every tolerance is a named constant of ``emkit.testing.tolerances``, re-exported here.

The checks live in modules with one job each: ``emkit.testing.model`` (any latent-variable
model), ``emkit.testing.family`` (exponential families), ``emkit.testing.normalisation``, and
the helpers they share, ``emkit.testing.trees`` (attrs trees by attribute path) and
``emkit.testing.reporting`` (calling a plugin's methods). Import the checks from here.
"""

from __future__ import annotations

from emkit.testing.family import (
    check_family,
    check_ingredients,
    check_mstep_optimality,
    check_prior,
    check_relabelling,
    check_shapes,
)
from emkit.testing.missing import check_missing_row, with_missing
from emkit.testing.model import (
    check_additivity,
    check_missing_values,
    check_model,
    check_monotone_em,
    check_parameters,
    check_recenter,
    check_sample_weight,
    check_statistics_type,
)
from emkit.testing.normalisation import check_normalisation
from emkit.testing.tolerances import (
    ADDITIVITY_RTOL,
    DISCRETE_EDGE_PROB,
    DISCRETE_MARGIN,
    DISCRETE_MARGIN_FRACTION,
    DISCRETE_MAX_POINTS,
    MIN_PIECE_ROWS,
    MIN_PIECES,
    MIN_SPLIT_ROWS,
    MISSING_FRACTION,
    MISSING_ROW_ATOL,
    NORMALISATION_ATOL,
    NORMALISATION_DRAWS,
    NORMALISATION_GRID_POINTS,
    NORMALISATION_MAX_FEATURES,
    NORMALISATION_MC_ATOL,
    NORMALISATION_MIN_ESS_FRACTION,
    NORMALISATION_RANGE_DRAWS,
    NORMALISATION_SIGMAS,
    OPTIMALITY_RTOL,
    PERTURBATIONS,
    PROPOSAL_DEFENSIVE_WEIGHT,
    PROPOSAL_DOF,
    PROPOSAL_RIDGE,
    PROPOSAL_VARIANCE_FACTOR,
    QUADRATURE_LIMIT,
    QUADRATURE_MIN_CENTRAL_MASS,
    QUADRATURE_RTOL,
    QUADRATURE_TAIL,
    RECENTER_RTOL,
    SUPPORT_BISECTIONS,
    SUPPORT_PROBES,
    WEIGHT_RTOL,
)

__all__ = [
    "ADDITIVITY_RTOL",
    "DISCRETE_EDGE_PROB",
    "DISCRETE_MARGIN",
    "DISCRETE_MARGIN_FRACTION",
    "DISCRETE_MAX_POINTS",
    "MIN_PIECES",
    "MIN_PIECE_ROWS",
    "MIN_SPLIT_ROWS",
    "MISSING_FRACTION",
    "MISSING_ROW_ATOL",
    "NORMALISATION_ATOL",
    "NORMALISATION_DRAWS",
    "NORMALISATION_GRID_POINTS",
    "NORMALISATION_MAX_FEATURES",
    "NORMALISATION_MC_ATOL",
    "NORMALISATION_MIN_ESS_FRACTION",
    "NORMALISATION_RANGE_DRAWS",
    "NORMALISATION_SIGMAS",
    "OPTIMALITY_RTOL",
    "PERTURBATIONS",
    "PROPOSAL_DEFENSIVE_WEIGHT",
    "PROPOSAL_DOF",
    "PROPOSAL_RIDGE",
    "PROPOSAL_VARIANCE_FACTOR",
    "QUADRATURE_LIMIT",
    "QUADRATURE_MIN_CENTRAL_MASS",
    "QUADRATURE_RTOL",
    "QUADRATURE_TAIL",
    "RECENTER_RTOL",
    "SUPPORT_BISECTIONS",
    "SUPPORT_PROBES",
    "WEIGHT_RTOL",
    "check_additivity",
    "check_family",
    "check_ingredients",
    "check_missing_row",
    "check_missing_values",
    "check_model",
    "check_monotone_em",
    "check_mstep_optimality",
    "check_normalisation",
    "check_parameters",
    "check_prior",
    "check_recenter",
    "check_relabelling",
    "check_sample_weight",
    "check_shapes",
    "check_statistics_type",
    "with_missing",
]
