"""``python -m emkit`` runs the ``emkit`` command line (see ``emkit.cli``)."""

import sys

from emkit.cli import main

if __name__ == "__main__":
    sys.exit(main())
