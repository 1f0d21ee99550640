"""``python -m goldlab``: the book's one command line (:mod:`goldlab.lab.cli`)."""

import sys

from goldlab.lab.cli import main

sys.exit(main())
