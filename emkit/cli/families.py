"""``--family NAME`` and its settings: any family of [`emkit.registry`][emkit.registry], set by
field name.

The command line knows no family by name. ``--family`` looks the name up in the registry (any
case; installed plugins register through the ``emkit.plugins`` entry points), and every setting
is an ``attrs`` field of the family's class, passed to its constructor by name, so the family's
own converters and validators check the values and word the errors:

* ``--covariance KIND`` sets ``covariance_type``, ``--reg-covar X`` sets ``reg_covar`` (for the
  families that have those settings, such as the Gaussian);
* ``--family-option KEY=VALUE`` sets any other (``VALUE`` is read as a number, ``true``/``false``,
  ``none``, or else a string).

A table of mixed columns takes a family per column instead
([`ColumnFamilies`][emkit.cli.families.ColumnFamilies]): ``--family auto`` chooses each
column's family from its cells, ``--family height=gaussian,smoker=bernoulli`` names them
(every column, unless the list also holds ``auto``), and the command fits a
[`MixedMixture`][emkit.estimators.mixed.MixedMixture].
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from typing import Any

import attrs

from emkit import registry
from emkit.cli.errors import CliError, exception_text, one_line
from emkit.estimators.mixed import FAMILY_NAMES

__all__ = [
    "AUTO",
    "ColumnFamilies",
    "FamilySetting",
    "column_families",
    "family_class",
    "family_names",
    "family_option",
    "family_type",
    "make_family",
    "parse_value",
    "setting_names",
]


@attrs.frozen
class FamilySetting:
    """One family setting given on the command line.

    Attributes
    ----------
    key : str
        The constructor argument (an attrs field of the family).
    value : object
        Its value, as parsed.
    flag : str
        The option that gave it (``"--covariance"``, ``"--family-option"``), for messages.
    text : str
        What the user typed after the flag, for messages.
    """

    key: str
    value: Any
    flag: str
    text: str

    @property
    def option(self) -> str:
        """``--flag 'text'``, as it reads in a message."""
        return f"{self.flag} {self.text!r}"


#: The word of ``--family`` that chooses the family of every column from its cells.
AUTO = "auto"


@attrs.frozen
class ColumnFamilies:
    """``--family auto`` or ``--family COL=FAMILY,...``: a family per column of a mixed table.

    Attributes
    ----------
    auto : bool
        Columns not named take their family from their cells (the list holds ``auto``);
        otherwise every column must be named.
    given : tuple of (str, str)
        ``(column, family)`` in the order typed: a column by header name or 0-based index, a
        family of [`FAMILY_NAMES`][emkit.estimators.mixed.FAMILY_NAMES].
    text : str
        What the user typed, for messages.
    """

    auto: bool
    given: tuple[tuple[str, str], ...]
    text: str


def column_families(text: str) -> ColumnFamilies | None:
    """The per-column families of ``--family TEXT``, or None when TEXT is one family's name.

    Raises
    ------
    CliError
        For an item that is neither ``auto`` nor ``COLUMN=FAMILY``, an unknown family, or a
        column named twice.
    """
    items = [item.strip() for item in text.split(",")]
    if not any(item.lower() == AUTO or "=" in item for item in items):
        return None
    auto = False
    given: list[tuple[str, str]] = []
    for item in items:
        if item.lower() == AUTO:
            auto = True
            continue
        column, equals, name = item.rpartition("=")
        column, name = column.strip(), name.strip().lower()
        if not equals or not column:
            raise CliError(
                f"bad --family {text!r}: {item!r} is neither 'auto' nor COLUMN=FAMILY (e.g. "
                "height=gaussian)"
            )
        if name not in FAMILY_NAMES:
            raise CliError(
                f"bad --family {text!r}: {name!r} for column {column!r} is not one of "
                f"{', '.join(FAMILY_NAMES)}"
            )
        if any(column == seen for seen, _ in given):
            raise CliError(f"bad --family {text!r}: column {column!r} is named twice")
        given.append((column, name))
    return ColumnFamilies(auto, tuple(given), text)


def family_names() -> tuple[str, ...]:
    """The registered families (installed plugins included), sorted."""
    try:
        return registry.registered_families()
    except ImportError as exc:  # a broken plugin installation
        raise CliError(one_line(str(exc))) from None


def family_class(name: str) -> type:
    """The family class registered as ``name`` (any case)."""
    try:
        return registry.family_class(name)
    except ImportError as exc:
        raise CliError(one_line(str(exc))) from None


def family_type(text: str) -> str:
    """An argparse type: the name of a registered family, or families per column
    ([`column_families`][emkit.cli.families.column_families]), as typed."""
    try:
        if column_families(text) is not None:
            return text
        family_class(text)
    except (ValueError, CliError) as exc:
        message = one_line(str(exc))
        if isinstance(exc, ValueError):
            message += "; or 'auto', or COLUMN=FAMILY,... for a family per column"
        raise argparse.ArgumentTypeError(message) from None
    return text


def parse_value(text: str) -> Any:
    """A setting's value from text: int, float, bool (true/false), None (none), or the text."""
    word = text.strip().lower()
    if word in ("true", "false"):
        return word == "true"
    if word in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def family_option(text: str) -> FamilySetting:
    """An argparse type for ``--family-option KEY=VALUE``."""
    match = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*=(.*)", text, flags=re.DOTALL)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected KEY=VALUE with KEY a setting of the family; got {text!r}"
        )
    value = parse_value(match.group(2).strip())
    return FamilySetting(match.group(1), value, "--family-option", text)


def setting_names(cls: type) -> tuple[str, ...]:
    """The settings of a family class: the names its constructor takes (attrs fields)."""
    if not attrs.has(cls):
        return ()
    return tuple(field.alias or field.name for field in attrs.fields(cls) if field.init)


def make_family(name: str, settings: Sequence[FamilySetting] = ()) -> Any:
    """The family registered as ``name``, built with ``settings`` by its own constructor.

    Raises
    ------
    CliError
        For an unknown family, a setting the family does not have, a setting given twice, or a
        value its constructor refuses (with the constructor's message).
    """
    cls = family_class(name)
    known = setting_names(cls)
    values: dict[str, Any] = {}
    given: dict[str, FamilySetting] = {}
    for setting in settings:
        if setting.key not in known:
            if setting.flag != "--family-option":
                raise CliError(
                    f"{setting.flag} applies only to families with a `{setting.key}` setting; "
                    f"{cls.__name__} has none"
                )
            have = f"its settings: {', '.join(known)}" if known else "it has no settings"
            raise CliError(
                f"bad {setting.option}: {cls.__name__} has no setting {setting.key!r}; {have}"
            )
        if setting.key in given:
            raise CliError(
                f"`{setting.key}` is set twice: by {given[setting.key].option} and by "
                f"{setting.option}"
            )
        given[setting.key] = setting
        values[setting.key] = setting.value
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        message = exception_text(exc)
        if len(settings) == 1:
            raise CliError(f"bad {settings[0].option}: {message}") from None
        if settings:
            options = ", ".join(s.option for s in settings)
            raise CliError(f"bad settings for --family {name} ({options}): {message}") from None
        raise CliError(
            f"--family {name}: {cls.__name__} cannot be made without settings ({message}); "
            "give them with --family-option KEY=VALUE"
        ) from None
