"""Conformance: runc's own integration suite (Debian's runc source package, tests/integration/*.bats,
run by Debian's bats) against Debian's runc and against vmstack-runc, in the same test and the same
environment. vmstack-runc must pass every test runc passes here, except the gaps listed with their
reason in runc_conformance_gaps.txt (a listed gap passing now is reported, to be struck off). Tests
runc itself fails or skips here are reported with the reason (and written to summary.json).

Reproduce the counts: PYTHONPATH=. python3 -m pytest -s tests/containers/test_runc_conformance.py"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.containers import runc_suite

GAPS_FILE = Path(__file__).with_name("runc_conformance_gaps.txt")


def known_gaps() -> dict[str, str]:
    """Test name -> why vmstack-runc fails it though runc passes (lines `name<TAB>reason`)."""
    gaps = {}
    for line in GAPS_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition("\t")
            gaps[name] = reason
    return gaps


def counts(results: dict[str, tuple[str, str]]) -> dict[str, int]:
    return {outcome: sum(1 for o, _ in results.values() if o == outcome) for outcome in ("ok", "fail", "skip")}


@pytest.fixture(scope="module")
def suite_results() -> tuple[dict, dict]:
    """Both runtimes' results (a failure of vmstack-runc where runc passed is retried once)."""
    if runc_suite.runc_source() is None:
        pytest.fail("Debian's runc source package is missing: run scripts/setup.sh")
    runc = shutil.which("runc")
    if runc is None or shutil.which("bats") is None:
        pytest.fail("Debian's runc and bats are needed: run scripts/setup.sh")
    by_runc = runc_suite.run_suite(runc)
    vmstack_runc = runc_suite.vmstack_runc_wrapper()
    by_vmstack = runc_suite.run_suite(vmstack_runc)
    # Timing-sensitive tests (events intervals, pause, retries of a few seconds) can fail once on a
    # loaded machine: a test runc passed and vmstack-runc failed is run once more, and said so.
    again = sorted(n for n, (o, _) in by_runc.items() if o == "ok" and by_vmstack.get(n, ("",))[0] != "ok")
    if again:
        retried = runc_suite.run_suite(vmstack_runc, names=again)
        for name in again:
            if retried.get(name, ("",))[0] == "ok":
                print(f"  passed on its second run: {name}")
                by_vmstack[name] = ("ok", "passed on its second run")
    return by_runc, by_vmstack


def test_vmstack_runc_passes_what_runc_passes(suite_results):
    by_runc, by_vmstack = suite_results
    assert len(by_runc) > 150 and set(by_runc) == set(by_vmstack)
    gaps = known_gaps()
    runc_passes = {name for name, (outcome, _) in by_runc.items() if outcome == "ok"}
    vmstack_passes = {name for name, (outcome, _) in by_vmstack.items() if outcome == "ok"}
    summary = {"runc": counts(by_runc), "vmstack-runc": counts(by_vmstack),
               "runc passes, vmstack-runc fails (listed gaps)": sorted(runc_passes - vmstack_passes),
               "runc fails or skips here": {name: f"{outcome}: {note}" for name, (outcome, note) in by_runc.items()
                                            if outcome != "ok"},
               "vmstack-runc fails or skips here": {name: f"{outcome}: {note}" for name, (outcome, note)
                                                    in by_vmstack.items() if outcome != "ok"}}
    (runc_suite.CACHE / "runc-conformance" / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"\nrunc's integration suite: runc {summary['runc']}, vmstack-runc {summary['vmstack-runc']}")
    for name in sorted(runc_passes - vmstack_passes):
        print(f"  gap: {name}: {by_vmstack[name][1] or gaps.get(name, '')}")
    unlisted = sorted(runc_passes - vmstack_passes - set(gaps))
    assert unlisted == [], f"vmstack-runc fails tests runc passes: {unlisted}"
    for name in sorted(set(gaps) & vmstack_passes):
        print(f"  listed gap passing now (strike it off {GAPS_FILE.name}): {name}")
