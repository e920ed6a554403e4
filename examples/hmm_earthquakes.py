"""Poisson hidden Markov models of the yearly number of major earthquakes, 1900-2006.

The counts are over-dispersed and serially correlated: quiet decades follow quiet decades. A
Poisson mixture (``earthquakes_poisson.py``) captures the first, a Poisson HMM both. This script
fits HMMs with 2 and 3 states by Baum-Welch ([`emkit.fit`][emkit.em.fit] on a
[`HiddenMarkovModel`][emkit.hmm.model.HiddenMarkovModel]), the example of Zucchini, MacDonald &
Langrock, *Hidden Markov Models for Time Series* (2016, ch. 1 and 3), prints the rates, the
transition matrices and BIC / AIC, and draws the counts over the years with the rate of the
Viterbi-decoded state as a step line, one panel per number of states.

Figure: ``hmm_earthquakes.png``.

Usage: ``python examples/hmm_earthquakes.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import emkit


# --8<-- [start:fit]
def fit_poisson_hmm(
    counts: np.ndarray, n_states: int
) -> tuple[emkit.HiddenMarkovModel[Any, Any], emkit.FitResult[Any], emkit.HMMParams[Any]]:
    """Baum-Welch from 10 k-means starts; the states renumbered by increasing rate."""
    model = emkit.HiddenMarkovModel(emkit.Poisson(), n_states)
    result = emkit.fit(model, counts, n_init=10, tol=1e-10, max_iter=2000, random_state=0)
    order = np.argsort(result.params.emission.mean[:, 0])
    return model, result, result.params.relabel(order)


# --8<-- [end:fit]


def main(output_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    quakes = emkit.datasets.load_earthquakes()
    counts = quakes.data  # (107, 1) major earthquakes per year
    years = np.asarray(quakes.index)

    fig, axes = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    for ax, n_states in zip(axes, (2, 3), strict=True):
        model, result, params = fit_poisson_hmm(counts, n_states)
        rates = params.emission.mean[:, 0]
        _, states = model.decode(counts, params)
        print(
            f"K={n_states}: log-lik {result.log_likelihood:.3f}, BIC {emkit.bic(result):.2f}, "
            f"AIC {emkit.aic(result):.2f}, rates {rates.round(2)}"
        )
        ax.bar(years, counts[:, 0], width=0.8, color="0.78", label="earthquakes (magnitude 7+)")
        ax.step(
            years,
            rates[states],
            where="mid",
            color="C3",
            lw=2,
            label="rate of the decoded state",
        )
        for rate in rates:
            ax.axhline(rate, color="C3", lw=0.6, ls=":")
        ax.set_ylim(0, 50)
        ax.set_ylabel("count per year")
        ax.set_title(
            f"{n_states}-state Poisson HMM: rates {', '.join(f'{r:.1f}' for r in rates)}"
            f" (log-likelihood {result.log_likelihood:.2f})"
        )
        ax.legend(loc="upper left")
    axes[-1].set_xlabel("year")
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "hmm_earthquakes.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
