"""`python -m vmstack` is the `vmstack` command."""

import sys

from .cli import main

sys.exit(main())
