"""`python -m vmstack` is the `vmstack` command."""

from .cli import entry

entry()
