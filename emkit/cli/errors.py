"""What goes wrong on the command line, and how it is told: one line, exit status 2."""

from __future__ import annotations

from emkit.plotting import INSTALL_HINT

__all__ = ["CliError", "error_message", "exception_text", "is_user_error", "one_line"]


class CliError(Exception):
    """Bad input found by the command line itself; printed as one line, exit status 2."""


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (line breaks included) as one space."""
    return " ".join(text.split())


def exception_text(exc: BaseException) -> str:
    """The message of ``exc`` on one line.

    An exception with several arguments whose first is a message (as attrs validators raise:
    the message, the field, the rule, the value) gives that message, not the tuple.
    """
    if len(exc.args) > 1 and isinstance(exc.args[0], str):
        return one_line(exc.args[0])
    return one_line(str(exc))


def error_message(exc: BaseException) -> str:
    """The one-line message printed after ``emkit: error:``."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return exception_text(exc) or type(exc).__name__


def is_user_error(exc: BaseException) -> bool:
    """Bad input (a file, a value, a missing optional package), not a bug in emkit."""
    if isinstance(exc, ImportError):
        return INSTALL_HINT in str(exc)
    return isinstance(exc, (CliError, ValueError, TypeError, OSError))
