"""A Gaussian hidden Markov model finds calm and turbulent regimes in a synthetic return series.

Daily "returns" are drawn from a 3-state Gaussian HMM whose regimes differ in mean and
volatility (a calm rising market, a normal one, a turbulent falling one) and persist for weeks.
Three series of different lengths (three markets, say) are drawn, concatenated and fitted
together with ``lengths=`` by [`emkit.fit`][emkit.em.fit] on a
[`HiddenMarkovModel`][emkit.hmm.model.HiddenMarkovModel] with diagonal Gaussian emissions; the
fitted parameters are printed next to the true ones. The figure shows the first series coloured
by its Viterbi-decoded regime, and underneath the posterior probability of every regime
(``model.responsibilities``).

Figure: ``hmm_regimes.png``.

Usage: ``python examples/hmm_regimes.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import emkit

REGIMES = ("calm", "normal", "turbulent")
COLOURS = ("C2", "C0", "C3")


# --8<-- [start:simulate]
def true_hmm() -> emkit.HMMParams[emkit.GaussianParams]:
    """Three persistent regimes: calm (up, low volatility) to turbulent (down, high)."""
    return emkit.HMMParams(
        startprob=np.array([0.5, 0.3, 0.2]),
        transmat=np.array(
            [
                [0.98, 0.015, 0.005],
                [0.02, 0.96, 0.02],
                [0.01, 0.04, 0.95],
            ]
        ),
        emission=emkit.GaussianParams(
            means=np.array([[0.10], [0.00], [-0.30]]),  # mean daily return, %
            covariances=np.array([[0.5**2], [1.0**2], [2.5**2]]),  # diag: (K, D) variances
        ),
    )


def simulate(lengths: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Returns (X, states) of several series, concatenated."""
    model = emkit.HiddenMarkovModel(emkit.Gaussian("diag"), n_states=3)
    rng = np.random.default_rng(seed)
    return model.sample(true_hmm(), sum(lengths), rng, lengths=np.array(lengths))


# --8<-- [end:simulate]


# --8<-- [start:fit]
def fit_regimes(
    X: np.ndarray, lengths: tuple[int, ...]
) -> tuple[emkit.HiddenMarkovModel[Any, Any], emkit.HMMParams[Any]]:
    """Baum-Welch on all series at once; regimes renumbered by increasing volatility."""
    model = emkit.HiddenMarkovModel(emkit.Gaussian("diag"), n_states=3)
    result = emkit.fit(
        model, X, lengths=np.array(lengths), n_init=5, tol=1e-8, max_iter=1000, random_state=0
    )
    order = np.argsort(result.params.emission.covariances[:, 0])
    return model, result.params.relabel(order)


# --8<-- [end:fit]


def main(output_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths = (1000, 700, 500)
    X, true_states = simulate(lengths)
    model, params = fit_regimes(X, lengths)
    truth = true_hmm()
    print("regime     true mean  fitted   true sd  fitted")
    fitted_sd = np.sqrt(params.emission.covariances[:, 0])
    true_sd = np.sqrt(truth.emission.covariances[:, 0])
    for k, name in enumerate(REGIMES):
        print(
            f"{name:<10} {truth.emission.means[k, 0]:9.2f} {params.emission.means[k, 0]:7.2f}"
            f" {true_sd[k]:9.2f} {fitted_sd[k]:7.2f}"
        )
    print("fitted transmat:\n", params.transmat.round(3))

    # The figure shows the first series only; decoding and posteriors use the whole fit.
    first = X[: lengths[0]]
    _, states = model.decode(first, params)
    posterior = model.responsibilities(first, params)
    agree = np.mean(states == true_states[: lengths[0]])
    print(f"Viterbi regime equals the true regime on {agree:.1%} of the days")
    t = np.arange(lengths[0])

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(12, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    top.plot(t, first[:, 0], color="0.75", lw=0.6, zorder=1)
    for k, name in enumerate(REGIMES):
        on = states == k
        top.scatter(t[on], first[on, 0], s=6, color=COLOURS[k], label=f"decoded: {name}", zorder=2)
    top.set_ylabel("daily return (%)")
    top.set_title("synthetic returns coloured by the Viterbi-decoded regime")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=3)
    bottom.stackplot(
        t,
        posterior.T,
        colors=COLOURS,
        labels=[f"p({name} | returns)" for name in REGIMES],
        alpha=0.85,
    )
    bottom.set_ylim(0, 1)
    bottom.set_xlim(0, lengths[0] - 1)
    bottom.set_xlabel("day")
    bottom.set_ylabel("posterior probability")
    bottom.set_title("posterior probability of every regime (forward-backward)")
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "hmm_regimes.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
