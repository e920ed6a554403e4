"""``python -m emkit`` runs the command line."""

import sys

from emkit.cli import main

sys.exit(main())
