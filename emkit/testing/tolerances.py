"""Every tolerance and size the contract checks of [`emkit.testing`][emkit.testing] use, by name.

Each constant says what error it allows and why that error is rounding, sampling noise or a
deliberate bound, never a fudge factor. Plugin authors can read them (``emkit.testing`` re-exports
them all) to see how strict a check is.
"""

from __future__ import annotations

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
]

#: Statistics of a split vs the whole differ only by summation order: a few ulps of the total.
ADDITIVITY_RTOL = 1e-9

#: The M-step's objective may fall short of an alternative's only by rounding of the sums.
OPTIMALITY_RTOL = 1e-9

#: Factors by which every parameter is scaled to make nearby alternatives to the M-step's answer.
PERTURBATIONS = (0.9, 0.99, 0.999, 1.001, 1.01, 1.1)

#: Weighted rows vs the same rows repeated differ only by summation order.
WEIGHT_RTOL = 1e-9

#: Statistics moved to another reference point vs the originals: rounding of the shift, which
#: grows with the squared distance moved relative to the spread of the data.
RECENTER_RTOL = 1e-8

#: The additivity check splits ``X`` into at least this many pieces ...
MIN_PIECES = 3

#: ... of at least this many rows each (one-row pieces hide mistakes that only show on sums).
MIN_PIECE_ROWS = 2

#: Fewest rows of ``X`` the model checks accept.
MIN_SPLIT_ROWS = MIN_PIECES * MIN_PIECE_ROWS

#: Exact normalisation (quadrature, sums over the support): allowed ``|Z - 1|`` on top of the
#: quadrature's own error estimate. Covers the mass beyond the summed range of a discrete family.
NORMALISATION_ATOL = 1e-6

#: Monte Carlo normalisation: allowed ``|Z - 1|`` on top of ``NORMALISATION_SIGMAS`` standard
#: errors, for the bias of a proposal that misses a little of the density's far tails.
NORMALISATION_MC_ATOL = 0.02

#: Monte Carlo normalisation: standard errors allowed (a false alarm about once in 10^6 checks).
NORMALISATION_SIGMAS = 5.0

#: Importance-sampling draws per component for the Monte Carlo normalisation check.
NORMALISATION_DRAWS = 20_000

#: Draws from the family's own ``sample`` that locate its mass (ranges, quantiles, proposal).
NORMALISATION_RANGE_DRAWS = 2_000

#: The multi-feature normalisation check uses at most this many leading columns of ``X`` when
#: the family accepts fewer columns (so a mistake that only shows with several features, such
#: as a per-feature constant counted once, is caught at the cost of a 3-D integral).
NORMALISATION_MAX_FEATURES = 3

#: A discrete multi-feature density is summed exactly over a grid of at most this many points;
#: larger grids are checked by importance sampling.
NORMALISATION_GRID_POINTS = 250_000

#: Smallest importance-sampling effective sample size, as a fraction of the draws, from a
#: proposal fitted to the family's own samples. Measured: 0.1 to 0.7 when ``sample`` draws from
#: the density of ``log_prob`` (Gaussians, exponentials on 3 features), below 0.001 when one of
#: them uses a wrong parameterisation; below it the two disagree.
NORMALISATION_MIN_ESS_FRACTION = 0.01

#: Sample quantiles that split a 1-D integral into two tails and a middle interval.
QUADRATURE_TAIL = 0.01

#: Fewest of a 1-D density's mass that must lie between those quantiles of its own samples
#: (about ``1 - 2 * QUADRATURE_TAIL`` when ``sample`` and ``log_prob`` agree).
QUADRATURE_MIN_CENTRAL_MASS = 0.5

#: Relative accuracy asked of ``scipy.integrate.quad`` and its subinterval limit.
QUADRATURE_RTOL = 1e-10
QUADRATURE_LIMIT = 200

#: Integers added on each side of a discrete family's samples, plus this fraction of their range.
DISCRETE_MARGIN = 10
DISCRETE_MARGIN_FRACTION = 0.5

#: A 1-D discrete sum is widened while its edge terms exceed this fraction of the total ...
DISCRETE_EDGE_PROB = 1e-12

#: ... up to this many points (a density that does not decay is then reported as it stands).
DISCRETE_MAX_POINTS = 200_000

#: Continuous proposal of the Monte Carlo check: the sample covariance of the family's draws,
#: inflated by this factor, as a Gaussian mixed with a Student-t of ``PROPOSAL_DOF`` degrees of
#: freedom of weight ``PROPOSAL_DEFENSIVE_WEIGHT`` (its heavy tails keep the importance weights
#: bounded for densities with exponential or polynomial tails).
PROPOSAL_VARIANCE_FACTOR = 2.0
PROPOSAL_DOF = 3.0
PROPOSAL_DEFENSIVE_WEIGHT = 0.1

#: Relative ridge added to the sample covariance of the draws (a feature that never varies).
PROPOSAL_RIDGE = 1e-9

#: Support boundaries: probes at distances ``spread * 2**i`` beyond the samples, then bisection.
SUPPORT_PROBES = 40
SUPPORT_BISECTIONS = 200

#: Fraction of entries the missing-value checks set to NaN (completely at random; every row keeps
#: one observed entry): enough for many patterns, few enough that every component keeps data.
MISSING_FRACTION = 0.2

#: The log-density of a row with nothing observed is exactly 0 up to rounding of this size.
MISSING_ROW_ATOL = 1e-12
