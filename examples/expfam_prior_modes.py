"""One posterior, two modes: where the MAP of a Bernoulli probability lands depends on the
parameterisation in which the density is maximised.

A Bernoulli feature with emkit's conjugate prior ``Bernoulli(pseudo_count=c)`` (a density in the
natural parameter eta = logit p; Beta(c, c) as a density in p) and ``t`` ones in ``N``
observations. With c = 1 the prior is uniform in p, so the mode of the posterior density in p is
the maximum-likelihood estimate t / N, while emkit's M-step, the mode of the posterior density in
eta, is (t + c) / (N + 2c) (Laplace's rule of succession), which is also the posterior mean of p.
The figure draws the same posterior as a density in p (left) and in eta (right) and marks both
points; the values are checked against emkit's M-step.

Usage: ``python examples/expfam_prior_modes.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from scipy import special, stats

import emkit

C, T, N = 1.0, 1, 4  # pseudo-count, ones observed, observations


def modes() -> tuple[float, float]:
    """(mode of the posterior density in eta, mapped to p; mode of the posterior density in p)."""
    X = np.zeros((N, 1))
    X[:T] = 1.0
    model = emkit.FiniteMixture(emkit.Bernoulli(pseudo_count=C), n_components=1)
    emkit_p = float(model.params_from_responsibilities(X, np.ones((N, 1))).components.mean[0, 0])
    a, b = T + C, N - T + C  # the posterior in p is Beta(a, b)
    assert np.isclose(emkit_p, a / (a + b))  # emkit's update = posterior mean of p
    return emkit_p, (a - 1) / (a + b - 2)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    mode_eta, mode_p = modes()
    a, b = T + C, N - T + C
    fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3.4))

    p = np.linspace(1e-4, 1 - 1e-4, 800)
    left.plot(p, stats.beta(a, b).pdf(p), color="0.2")
    left.set_xlabel("p")
    left.set_title(f"posterior density in p: Beta({a:g}, {b:g})")

    eta = np.linspace(-6, 4, 800)
    # The density in eta: p^a (1 - p)^b with p = sigmoid(eta), normalised by B(a, b).
    sig = special.expit(eta)
    density_eta = np.exp(a * np.log(sig) + b * np.log1p(-sig) - special.betaln(a, b))
    right.plot(eta, density_eta, color="0.2")
    right.set_xlabel("eta = logit p")
    right.set_title("the same posterior, density in eta")

    for ax, to_axis in ((left, lambda q: q), (right, special.logit)):
        ax.axvline(
            to_axis(mode_eta),
            color="tab:blue",
            ls="-",
            lw=1.5,
            label=f"emkit's MAP (mode in eta): p = {mode_eta:.3f}",
        )
        ax.axvline(
            to_axis(mode_p),
            color="tab:red",
            ls="--",
            lw=1.5,
            label=f"mode in p: p = {mode_p:.3f}",
        )
        ax.set_ylim(bottom=0)
        ax.set_yticks([])
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=9, frameon=False)
    fig.suptitle(
        f"{T} one in {N} observations, Bernoulli(pseudo_count={C:g}): "
        f"prior Beta({C:g}, {C:g}) in p",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(out / "expfam_prior_modes.png", dpi=130)
    plt.close(fig)
    print(f"mode in eta: p = {mode_eta:.4f}; mode in p: p = {mode_p:.4f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
