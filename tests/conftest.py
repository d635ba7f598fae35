"""Fixtures shared by every test directory."""

import gc

import pytest


@pytest.fixture
def collected() -> None:
    """Earlier tests' cyclic garbage collected first: a test that runs a guest into the call-stack limit
    would otherwise have the collector finalize it (wasmtime-py's oracles have finalizers) wherever a
    pass falls, at the limit too, where the finalizers fail with RecursionError."""
    gc.collect()
