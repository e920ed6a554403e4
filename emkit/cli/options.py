"""Values of command-line options: numbers, ranges of components, lists of covariance types."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable

from emkit.cli.errors import CliError
from emkit.families import COVARIANCE_TYPES

__all__ = [
    "int_at_least",
    "non_negative_float",
    "non_negative_int",
    "number",
    "parse_components",
    "parse_covariance_list",
    "positive_int",
]


def parse_components(text: str) -> list[int]:
    """Numbers of components from ``"3"``, ``"1-8"`` or ``"1-4,6,8"`` (sorted, unique).

    Raises
    ------
    CliError
        ``bad --components '...'`` for anything else.
    """
    values: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?", part)
        if match is None:
            raise CliError(
                f"bad --components {text!r}: use a number (3), a range (1-8) or a list (1-4,6)"
            )
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
        if low < 1 or high < low:
            raise CliError(
                f"bad --components {text!r}: {part!r} must be an increasing range of numbers >= 1"
            )
        values.update(range(low, high + 1))
    return sorted(values)


def parse_covariance_list(text: str) -> list[str]:
    """Covariance types from ``"all"``
    ([`emkit.COVARIANCE_TYPES`][emkit.families.gaussian.COVARIANCE_TYPES]) or ``"full,diag"``.

    The names are checked later, by the family's own constructor.
    """
    if text.strip() == "all":
        return list(COVARIANCE_TYPES)
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    if not kinds:
        raise CliError(
            f"bad --covariance {text!r}: use 'all' or a comma-separated list of "
            f"{', '.join(COVARIANCE_TYPES)}"
        )
    return list(dict.fromkeys(kinds))


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number >= {minimum}; got {text!r}"
            ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}; got {value}")
        return value

    return parse


positive_int = int_at_least(1)
non_negative_int = int_at_least(0)


def non_negative_float(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0; got {text!r}") from None
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0; got {text!r}")
    return value


def number(text: str) -> float:
    """An argparse type: a finite number (what range it must lie in is for its user to say)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number; got {text!r}")
    return value
