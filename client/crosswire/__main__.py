"""`python -m crosswire` runs the `crosswire` command."""

import sys

from crosswire.cli import main

sys.exit(main())
