"""The lower bound that EM climbs, after figure 9.14 of Bishop's PRML, on a real mixture.

The data are the five points of the worked example of "EM from first principles",
``x = (-2, -1, 0, 1, 3)``, and the model a two-component Gaussian mixture. Only one parameter
moves: the mean ``mu_1`` of the first component. The others stay at their current values
``theta'``: weights (1/2, 1/2), ``mu_2 = 2``, both variances 1. The current ``mu_1'`` is 0.

Along that one parameter the figure draws

* the log-likelihood ``ln p(X | theta)`` (red);
* the lower bound ``L(q, theta)`` with ``q`` fixed at the posterior under ``theta'`` (blue): it
  touches the log-likelihood at ``theta'`` (the E-step) and is maximised at ``mu_1_new``, the
  responsibility-weighted mean of the data, which is the M-step's update of ``mu_1``;
* the gap ``KL(q || p(Z | X, theta)) = ln p(X | theta) - L(q, theta)``, zero at ``theta'`` and
  positive at ``mu_1_new``: the log-likelihood rises by the rise of the bound plus that gap;
* the next E-step's bound (green, dashed), which touches the log-likelihood at ``mu_1_new``.

Every curve is computed with emkit's own functions (``responsibilities``, ``joint_log_prob``,
``score_samples``, ``e_step``, ``m_step``).

Usage: ``python examples/lower_bound.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import emkit

# --8<-- [start:bound]
POINTS = np.array([[-2.0], [-1.0], [0.0], [1.0], [3.0]])
MIXTURE = emkit.FiniteMixture(emkit.Gaussian("full", reg_covar=0.0), n_components=2)
MU1_OLD = 0.0


def params_at(mu1: float) -> emkit.MixtureParams:
    """theta' with the first component's mean replaced by ``mu1``."""
    return emkit.MixtureParams(
        weights=np.array([0.5, 0.5]),
        components=emkit.GaussianParams(
            means=np.array([[mu1], [2.0]]), covariances=np.ones((2, 1, 1))
        ),
    )


def log_likelihood(mu1: float) -> float:
    """ln p(X | theta) along mu_1."""
    return float(MIXTURE.score_samples(POINTS, params_at(mu1)).sum())


def bound(q: np.ndarray, mu1: float) -> float:
    """L(q, theta) = sum_n sum_k q_nk (ln pi_k + ln p(x_n | theta_k) - ln q_nk) along mu_1."""
    return float(np.sum(q * (MIXTURE.joint_log_prob(POINTS, params_at(mu1)) - np.log(q))))


def one_step() -> tuple[np.ndarray, float]:
    """q = p(Z | POINTS, theta') and the M-step's new mu_1."""
    q = MIXTURE.responsibilities(POINTS, params_at(MU1_OLD))
    stats, _ = MIXTURE.e_step(POINTS, params_at(MU1_OLD))
    mu1_new = float(MIXTURE.m_step(stats).components.means[0, 0])
    # On this slice the bound is maximised exactly there: the weighted mean of the data.
    assert np.isclose(mu1_new, q[:, 0] @ POINTS[:, 0] / q[:, 0].sum())
    return q, mu1_new


# --8<-- [end:bound]
def main(output_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # The figure is shown about 700 pixels wide on the page: large type.
    plt.rcParams.update({"font.size": 13, "axes.titlesize": 14})

    q, mu1_new = one_step()
    q_new = MIXTURE.responsibilities(POINTS, params_at(mu1_new))
    grid = np.linspace(-2.2, 1.0, 321)
    ll = np.array([log_likelihood(m) for m in grid])
    lb = np.array([bound(q, m) for m in grid])
    lb_next = np.array([bound(q_new, m) for m in grid])

    ll_old, ll_new = log_likelihood(MU1_OLD), log_likelihood(mu1_new)
    lb_old, lb_new = bound(q, MU1_OLD), bound(q, mu1_new)
    gap = ll_new - lb_new
    print(f"mu_1' = {MU1_OLD:.4f}, mu_1 new = {mu1_new:.4f}")
    print(f"ln p(POINTS|theta') = {ll_old:.4f} = L(q, theta') = {lb_old:.4f}")
    print(f"ln p(POINTS|theta_new) = {ll_new:.4f} = L(q, theta_new) {lb_new:.4f} + KL {gap:.4f}")
    assert np.isclose(ll_old, lb_old), "the E-step makes the bound tight at theta'"
    assert gap > 0, "the bound is not tight at theta_new"
    assert np.all(lb <= ll + 1e-12), "L(q, theta) is a lower bound everywhere"

    red, blue, green = "#c62828", "#1565c0", "#2e7d32"
    fig, (ax, ax_kl) = plt.subplots(
        1, 2, figsize=(11.5, 5.4), gridspec_kw={"width_ratios": [1.6, 1.0]}
    )
    ax.plot(grid, ll, color=red, lw=2.5, label=r"$\ln p(\mathbf{POINTS} \mid \theta)$")
    ax.plot(grid, lb, color=blue, lw=2.0, label=r"$\mathcal{L}(q, \theta)$, $q$ from $\theta'$")
    ax.plot(
        grid,
        lb_next,
        color=green,
        lw=1.5,
        ls="--",
        label=r"$\mathcal{L}(q^{\mathrm{new}}, \theta)$, next E-step",
    )
    y_low, y_high = -12.6, -9.4
    names = [r"$\theta^{\mathrm{new}}$", r"$\theta'$"]
    for axis in (ax, ax_kl):
        # theta' and theta_new marked by dotted lines and named on a top axis.
        for m in (mu1_new, MU1_OLD):
            axis.axvline(m, color="0.5", lw=0.8, ls=":")
        top = axis.secondary_xaxis("top")
        top.set_xticks([mu1_new, MU1_OLD], labels=names, fontsize=15)
    ax.plot([MU1_OLD], [ll_old], "o", color="black", ms=6, zorder=4)
    # The gap at theta_new: the KL divergence, which the log-likelihood gains on top of the bound.
    ax.plot([mu1_new, mu1_new], [lb_new, ll_new], color="black", lw=3.0, zorder=4)
    ax.annotate(
        f"gap at $\\theta^{{\\mathrm{{new}}}}$:\nKL = {gap:.3f}",
        xy=(mu1_new - 0.01, (ll_new + lb_new) / 2),
        xytext=(-1.05, -11.1),
        va="center",
        fontsize=13,
        arrowprops={"arrowstyle": "->", "color": "black", "lw": 1.0},
    )
    ax.annotate(
        "",
        xy=(MU1_OLD + 0.12, lb_new),
        xytext=(MU1_OLD + 0.12, lb_old),
        arrowprops={"arrowstyle": "->", "color": blue, "lw": 1.5},
    )
    ax.annotate(
        f"M-step raises\nthe bound by {lb_new - lb_old:.3f}",
        (MU1_OLD + 0.15, (lb_old + lb_new) / 2),
        color=blue,
        va="center",
        fontsize=12,
    )
    ax.annotate(
        f"$\\ln p$ rises by {ll_new - ll_old:.3f}\n"
        f"= {lb_new - lb_old:.3f} (bound) + {gap:.3f} (KL)",
        (0.98, 0.97),
        xycoords="axes fraction",
        ha="right",
        va="top",
        color=red,
        fontsize=12,
    )
    ax.set_xlim(grid[0], grid[-1])
    ax.set_ylim(y_low, y_high)
    ax.set_xlabel(r"$\mu_1$ (the other parameters held at their values in $\theta'$)")
    ax.set_title("EM climbs a lower bound that touches the log-likelihood")
    ax.legend(loc="lower left", fontsize=12)

    ax_kl.plot(grid, ll - lb, color="black", lw=2.0)
    ax_kl.plot([MU1_OLD, mu1_new], [0.0, gap], "o", color="black", ms=5)
    ax_kl.annotate(
        "0 at $\\theta'$\n(E-step)", (MU1_OLD, 0.0), xytext=(6, 10), textcoords="offset points"
    )
    ax_kl.annotate(
        f"{gap:.3f} at $\\theta^{{\\mathrm{{new}}}}$",
        (mu1_new, gap),
        xytext=(8, 45),
        textcoords="offset points",
        arrowprops={"arrowstyle": "-", "color": "0.4", "lw": 0.8},
    )
    ax_kl.set_xlim(grid[0], grid[-1])
    ax_kl.set_ylim(bottom=0.0)
    ax_kl.set_xlabel(r"$\mu_1$")
    ax_kl.set_title(r"the gap $\ln p(\mathbf{POINTS}\mid\theta) - \mathcal{L}(q, \theta)$ = KL")
    fig.tight_layout()
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "lower_bound.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
