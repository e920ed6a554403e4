"""A Bernoulli mixture on binarized 8x8 handwritten digits (after Bishop's PRML, section 9.3.3).

Each image becomes 64 binary pixels (intensity >= 8 of 16). A mixture of 10 multivariate
Bernoulli distributions is fitted without looking at the labels; each component's mean is a
64-pixel probability image, a "prototype" digit. The true digits are used only afterwards, to
see how well the components match them: a contingency table (components x digits) and the purity
(the fraction of images whose component's majority digit is their own digit).

Figures: ``digits_bernoulli.png`` (the component means as images, and the contingency table).

Usage: ``python examples/digits_bernoulli.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import emkit
from emkit.plotting import plot_component_images

N_COMPONENTS = 10


def contingency(components: np.ndarray, digits: np.ndarray) -> np.ndarray:
    """Counts of (component, digit) pairs, shape (n_components, 10)."""
    table = np.zeros((N_COMPONENTS, 10), dtype=int)
    np.add.at(table, (components, digits), 1)
    return table


def main(output_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    digits = emkit.datasets.load_digits(binarize=True)
    X, y = digits.data, digits.target
    model = emkit.FiniteMixture(emkit.Bernoulli(pseudo_count=0.01), n_components=N_COMPONENTS)
    result = emkit.fit(model, X, n_init=4, random_state=0)
    print(
        f"{X.shape[0]} images, {result.n_iter} iterations, "
        f"log-likelihood {result.log_likelihood:.1f}, BIC {emkit.bic(result):.1f}"
    )

    # Order the components by their majority digit, so the table reads along the diagonal.
    assigned = model.predict(X, result.params)
    table = contingency(assigned, y)
    order = np.lexsort((-table.max(axis=1), table.argmax(axis=1)))
    table = table[order]
    params = emkit.stats.take_components(result.params, order)
    purity = table.max(axis=1).sum() / table.sum()

    print("\ncontingency table: rows = components (majority digit), columns = true digit")
    print("         " + " ".join(f"{d:>4}" for d in range(10)))
    for k, row in enumerate(table):
        print(f"{k:>3} ({row.argmax()}) " + " ".join(f"{c:>4}" for c in row))
    print(f"\npurity: {purity:.1%} of images fall in a component whose majority digit is theirs")
    missing = sorted(set(range(10)) - set(table.argmax(axis=1).tolist()))
    if missing:
        print(f"digits that no component stands for: {missing} (they share a component)")

    fig = plt.figure(figsize=(12, 5.2))
    left, right = fig.subfigures(1, 2, width_ratios=[1.1, 1.0])
    plot_component_images(params, shape=(8, 8), model=model, fig=left, ncols=5)
    left.suptitle("component means (pixel probabilities), with weights")
    ax = right.subplots()
    ax.imshow(table, cmap="Blues")
    for (k, d), count in np.ndenumerate(table):
        if count:
            color = "white" if count > table.max() / 2 else "black"
            ax.text(d, k, str(count), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(10))
    ax.set_yticks(range(N_COMPONENTS))
    ax.set_yticklabels([f"{k} ({row.argmax()})" for k, row in enumerate(table)])
    ax.set_xlabel("true digit")
    ax.set_ylabel("component (majority digit)")
    ax.set_title(f"components vs digits: purity {purity:.1%}")
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "digits_bernoulli.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
