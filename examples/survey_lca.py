"""Latent class analysis of a survey with unanswered questions.

A synthetic survey: 1,000 people answer six questions with ``yes``, ``maybe`` or ``no``. Each
person belongs to one of three classes (supporters, opponents, undecided) with a known design:
the probability of every answer given the class, questions answered independently within a
class. One answer in ten is then left blank completely at random (``None``).

A [`CategoricalMixture`][emkit.estimators.CategoricalMixture] with ``missing="marginalise"``
integrates the blanks out: a person counts through the answers they gave. BIC over K = 1..5
picks the number of classes; the fitted class-conditional probabilities are matched to the known
classes and compared; ``impute`` fills every blank with its most probable answer given the
person's other answers, compared with the hidden true answer.

Figure: ``survey_lca.png``: the known and the fitted probabilities as heat maps, one row per
class, one column per question and answer.

Usage: ``python examples/survey_lca.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import emkit

# --8<-- [start:data]
ANSWERS = np.array(["yes", "maybe", "no"], dtype=object)
CLASSES = ("supporters", "opponents", "undecided")
WEIGHTS = np.array([0.45, 0.35, 0.20])
# DESIGN[k, d] = P(answer to question d = yes, maybe, no | class k). Question 5 is worded the
# other way round; on question 6 supporters and opponents answer alike.
DESIGN = np.array(
    [
        [[0.80, 0.15, 0.05], [0.75, 0.15, 0.10], [0.70, 0.20, 0.10],
         [0.70, 0.20, 0.10], [0.10, 0.20, 0.70], [0.60, 0.30, 0.10]],
        [[0.10, 0.15, 0.75], [0.10, 0.20, 0.70], [0.15, 0.15, 0.70],
         [0.20, 0.20, 0.60], [0.70, 0.20, 0.10], [0.60, 0.30, 0.10]],
        [[0.20, 0.65, 0.15], [0.15, 0.70, 0.15], [0.25, 0.55, 0.20],
         [0.20, 0.60, 0.20], [0.20, 0.60, 0.20], [0.10, 0.30, 0.60]],
    ]
)  # fmt: skip


def survey(
    n: int = 1000, blank: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Answers with blanks (``None``), the complete answers, and each person's class."""
    rng = np.random.default_rng(seed)
    classes = rng.choice(len(WEIGHTS), size=n, p=WEIGHTS)
    # Inverse-CDF draw of every answer at once: the code is how many cumulative
    # probabilities of the person's class a uniform number exceeds.
    uniform = rng.random((n, DESIGN.shape[1], 1))
    codes = (uniform > np.cumsum(DESIGN[classes], axis=2)[:, :, :-1]).sum(axis=2)
    complete = ANSWERS[codes]
    blanks = rng.random(complete.shape) < blank
    blanks[blanks.all(axis=1), 0] = False  # everyone answers at least one question
    answers = np.where(blanks, None, complete)
    return answers, complete, classes


# --8<-- [end:data]


# --8<-- [start:fit]
def fit_classes(answers: np.ndarray, n_classes: int) -> emkit.CategoricalMixture:
    """Latent classes of the answers, blanks integrated out; the best of three starts."""
    model = emkit.CategoricalMixture(
        n_classes, missing="marginalise", n_init=3, tol=1e-4, max_iter=1000, random_state=0
    )
    return model.fit(answers)


def matched_fit(fit: emkit.CategoricalMixture) -> tuple[np.ndarray, np.ndarray]:
    """The fitted weights and probabilities in the layout of ``WEIGHTS`` and ``DESIGN``
    (answers yes, maybe, no), the fitted classes matched to the known ones (class labels are
    arbitrary)."""
    from scipy.optimize import linear_sum_assignment

    # categories_ are sorted (maybe, no, yes): pick each column's levels in ANSWERS' order.
    design = np.stack(
        [
            probs[:, [list(levels).index(answer) for answer in ANSWERS]]
            for probs, levels in zip(fit.probabilities_, fit.categories_, strict=True)
        ],
        axis=1,
    )
    cost = np.abs(design[None, :] - DESIGN[:, None]).sum(axis=(2, 3))
    _, matched = linear_sum_assignment(cost)
    return fit.weights_[matched], design[matched]


def most_common(answers: np.ndarray) -> np.ndarray:
    """Each question's most common given answer, shape (n_questions,)."""
    given = [column[np.not_equal(column, None)].astype(str) for column in answers.T]
    counts = [np.unique(column, return_counts=True) for column in given]
    return np.array([levels[np.argmax(n)] for levels, n in counts], dtype=object)


# --8<-- [end:fit]


def main(output_dir: Path) -> None:
    import matplotlib.pyplot as plt

    answers, complete, _ = survey()
    blanks = np.equal(answers, None)
    print(f"people: {len(answers)}, blank answers: {blanks.mean():.1%}")
    fits = {k: fit_classes(answers, k) for k in range(1, 6)}
    bic = {k: fit.bic(answers) for k, fit in fits.items()}
    print("BIC by number of classes:", {k: round(b, 1) for k, b in bic.items()})
    best = min(bic, key=bic.__getitem__)
    print("chosen:", best)
    weights, design = matched_fit(fits[best])
    print("class weights, known:", WEIGHTS, "fitted:", np.round(weights, 3))
    print(f"largest error of a fitted probability: {np.abs(design - DESIGN).max():.3f}")
    imputed = fits[best].impute(answers)
    by_mode = np.broadcast_to(most_common(answers), answers.shape)
    print(
        "blanks filled with the true answer: "
        f"impute {np.mean(imputed[blanks] == complete[blanks]):.1%}, "
        f"the question's most common answer {np.mean(by_mode[blanks] == complete[blanks]):.1%}"
    )

    n_questions = DESIGN.shape[1]
    labels = [f"Q{d + 1} {a}" for d in range(n_questions) for a in ANSWERS]
    fig, axes = plt.subplots(2, 1, figsize=(13, 5.6), sharex=True)
    panels = [("known design", DESIGN), (f"fitted, K = {best} (BIC), 10% blanks", design)]
    for ax, (title, probs) in zip(axes, panels, strict=True):
        table = probs.reshape(len(CLASSES), -1)
        image = ax.imshow(table, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        for (k, j), p in np.ndenumerate(table):
            ax.text(
                j,
                k,
                f"{p:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="black" if p > 0.55 else "white",
            )
        # A white line between questions.
        for d in range(1, n_questions):
            ax.axvline(3 * d - 0.5, color="white", lw=3)
        ax.set_yticks(range(len(CLASSES)), CLASSES)
        ax.set_title(title)
    axes[1].set_xticks(range(len(labels)), labels, rotation=60, ha="right")
    fig.colorbar(image, ax=axes, label="P(answer | class)", fraction=0.03, pad=0.02)
    fig.suptitle("Latent class analysis: P(answer | class), known and fitted")
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "survey_lca.png"
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())
