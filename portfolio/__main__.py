"""Entry point for `python -m portfolio`."""

import sys

from portfolio.cli import main

sys.exit(main())
