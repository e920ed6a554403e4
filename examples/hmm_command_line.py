"""A hidden Markov model fitted from the command line: ``emkit fit ... --model hmm``.

Runs the ``emkit`` command (through its ``main`` function, exactly what the shell command runs)
on the bundled yearly earthquake counts with a 2-state Poisson HMM, saves the model as JSON and
the figure the command draws: the counts coloured by the Viterbi-decoded state with the states'
rates, the state posteriors over time, and the log-likelihood by iteration. Then it decodes the
counts again from the saved model with ``emkit predict``.

Figure: ``hmm_command_line.png``.

Usage: ``python examples/hmm_command_line.py [output_dir]`` (default: the current directory).
"""

from __future__ import annotations

import sys
from pathlib import Path

from emkit import cli


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    model_file = out_dir / "hmm_earthquakes.json"
    # --8<-- [start:commands]
    # emkit fit earthquakes --model hmm --states 2 --family poisson --n-init 5 \
    #     --output hmm_earthquakes.json --plot hmm_command_line.png
    cli.main(
        [
            "fit", "earthquakes", "--model", "hmm", "--states", "2", "--family", "poisson",
            "--n-init", "5", "-q", "--output", str(model_file),
            "--plot", str(out_dir / "hmm_command_line.png"),
        ]
    )  # fmt: skip
    # emkit predict hmm_earthquakes.json earthquakes   (the Viterbi state of every year)
    cli.main(["predict", str(model_file), "earthquakes", "--output", str(out_dir / "states.csv")])
    # --8<-- [end:commands]
    model_file.unlink()
    (out_dir / "states.csv").unlink()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
