"""The ``emkit`` command line (minimal: ``emkit fit`` on a bundled dataset)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from emkit import datasets
from emkit.em import fit
from emkit.families import Bernoulli, Gaussian, Poisson
from emkit.mixture import FiniteMixture
from emkit.selection import bic


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emkit", description="Fit mixture models by EM.")
    sub = parser.add_subparsers(dest="command", required=True)
    fit_parser = sub.add_parser("fit", help="fit a mixture to a bundled dataset")
    fit_parser.add_argument(
        "data", nargs="?", default="faithful", choices=sorted(datasets.DATASETS)
    )
    fit_parser.add_argument(
        "--family", default="gaussian", choices=["gaussian", "bernoulli", "poisson"]
    )
    fit_parser.add_argument("--components", type=int, default=2)
    fit_parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    X = datasets.load(args.data).data
    family = {"gaussian": Gaussian(), "bernoulli": Bernoulli(), "poisson": Poisson()}[args.family]
    result = fit(FiniteMixture(family, args.components), X, random_state=args.seed)
    np.set_printoptions(precision=4, suppress=True)
    print(f"weights: {result.params.weights}")
    print(f"log-likelihood: {result.log_likelihood:.4f}  BIC: {bic(result):.4f}")
    print(f"converged: {result.converged} after {result.n_iter} iterations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
