"""EM progress and warnings on standard error."""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from emkit.cli.errors import one_line
from emkit.em import IterationState

__all__ = ["Progress", "reported_warnings"]


class Progress:
    """EM progress on a stream: one line per iteration, or one updating line on a terminal.

    Parameters
    ----------
    stream : text stream
        Where to write (standard error).
    n_init : int
        Runs per fit; with more than one, each line says which run it belongs to.
    prefix : str, default ""
        Written before every line (``"Gaussian(full) K=3: "`` in ``emkit select``).
    every : bool, default True
        Off a terminal: one line per iteration (True), or only the last line, on
        ``finish`` (False).
    """

    def __init__(self, stream: IO[str], n_init: int, prefix: str = "", every: bool = True):
        self.stream = stream
        self.n_init = n_init
        self.prefix = prefix
        self.every = every
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.pending = False
        self.last = ""
        self.restart = 0

    def __call__(self, state: IterationState[Any]) -> None:
        """Show one iteration (an EM callback)."""
        run = f"run {state.restart + 1}/{self.n_init}  " if self.n_init > 1 else ""
        change = "-" if math.isnan(state.change) else f"{state.change:+.3e}"
        line = (
            f"{self.prefix}{run}iteration {state.iteration:4d}  "
            f"log-likelihood {state.log_likelihood:.6f}  change/sample {change}"
        )
        self.last = line
        if self.tty:
            if self.pending and state.restart != self.restart:
                self.stream.write("\n")  # keep the final line of the previous run
            # \r returns to the start of the line, ESC[K clears what the previous one left.
            self.stream.write(f"\r{line}\x1b[K")
            self.pending = True
            self.restart = state.restart
        elif self.every:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the updating line (terminal) or print the last state (non-terminal, quiet)."""
        if self.tty and self.pending:
            self.stream.write("\n")
        elif not self.tty and not self.every and self.last:
            self.stream.write(self.last + "\n")
        self.pending = False
        self.last = ""
        self.stream.flush()


@contextmanager
def reported_warnings(prefix: str = "") -> Iterator[None]:
    """Print warnings raised inside as ``emkit: warning: PREFIX...`` lines on stderr, on leaving.

    They are printed when the block ends (after any progress line is finished), each once.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for item in caught:
                print(f"emkit: warning: {prefix}{one_line(str(item.message))}", file=sys.stderr)
