"""Real datasets bundled with emkit, small and classic.

| loader | shape | what |
| --- | --- | --- |
| ``load_faithful`` | (272, 2) | Old Faithful eruptions: duration and waiting time (min) |
| ``load_earthquakes`` | (107, 1) | major (magnitude 7+) earthquakes per year, 1900-2006 |
| ``load_digits`` | (1797, 64) | 8x8 handwritten digits, with the true digit as target |
"""

from __future__ import annotations

from importlib import resources
from typing import Any, final

import attrs
import numpy as np

from emkit._backend import Array

__all__ = ["DATASETS", "Dataset", "load", "load_digits", "load_earthquakes", "load_faithful"]


@final
@attrs.frozen(eq=False)
class Dataset:
    """A bundled dataset.

    Attributes
    ----------
    data : array of shape (n_samples, n_features)
    feature_names : tuple of str
    target : array of shape (n_samples,) or None
        Known classes where the dataset has them (the digit of each image).
    index : array of shape (n_samples,) or None
        A row label where the dataset has one (the year of each earthquake count).
    description : str
    """

    data: Array
    feature_names: tuple[str, ...]
    target: Array | None
    index: Array | None
    description: str


def _read(name: str) -> tuple[tuple[str, ...], Array]:
    text = resources.files("emkit.datasets").joinpath(name).read_text(encoding="utf-8")
    header, *rows = text.strip().splitlines()
    values = np.array([[float(v) for v in row.split(",")] for row in rows])
    return tuple(header.split(",")), values


def load_faithful() -> Dataset:
    """Old Faithful geyser: eruption duration and waiting time to the next eruption (minutes).

    272 rows, 2 columns: ``eruptions``, ``waiting``. The textbook Gaussian-mixture example
    (Bishop, *Pattern Recognition and Machine Learning*, ch. 9).

    Source: R ``datasets::faithful`` (Härdle 1991; Azzalini & Bowman 1990).
    """
    names, values = _read("faithful.csv")
    return Dataset(values, names, None, None, load_faithful.__doc__ or "")


def load_earthquakes() -> Dataset:
    """Number of major earthquakes (magnitude 7+) in the world per year, 1900-2006.

    107 rows, 1 column ``count``; ``index`` holds the year. The classic Poisson-mixture and
    Poisson-HMM example (Zucchini & MacDonald, *Hidden Markov Models for Time Series*, ch. 1).

    Source: USGS counts as published in that book.
    """
    names, values = _read("earthquakes.csv")
    return Dataset(
        values[:, 1:], names[1:], None, values[:, 0].astype(int), load_earthquakes.__doc__ or ""
    )


def load_digits(binarize: bool = True, threshold: float = 8.0) -> Dataset:
    """8x8 images of handwritten digits, 1797 rows of 64 pixels; ``target`` is the digit.

    Pixels are intensities 0-16; with ``binarize=True`` (default) a pixel is 1 where its
    intensity is >= ``threshold``, for a Bernoulli mixture (Bishop, PRML 9.3.3).

    Source: UCI Optical Recognition of Handwritten Digits (test part), CC BY 4.0,
    Alpaydin & Kaynak 1998.
    """
    names, values = _read("digits.csv")
    pixels = values[:, :-1]
    if binarize:
        pixels = (pixels >= threshold).astype(np.float64)
    return Dataset(pixels, names[:-1], values[:, -1].astype(int), None, load_digits.__doc__ or "")


DATASETS = {"faithful": load_faithful, "earthquakes": load_earthquakes, "digits": load_digits}
"""Bundled datasets by name."""


def load(name: str, **options: Any) -> Dataset:
    """Load a bundled dataset by name: "faithful", "earthquakes" or "digits"."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return DATASETS[name](**options)
