"""Every exact TE-NAS / Mok check that is cheap runs here at small scale and must pass (their expected sides
are closed forms or independent computations, see each check's how_claimed).  The population-based
statistical checks need the micro-benchmark (about a minute of training) and run in `ntkcheck verify`."""

import pytest

from ntkcheck.paper_checks.check import Context, run_check
from ntkcheck.paper_checks.registry import all_checks

QUICK = ["tenas2021.T1", "tenas2021.T2", "tenas2021.T5", "tenas2021.T6", "tenas2021.Table1", "tenas2021.T2te",
         "mok2022.L1", "mok2022.L2", "mok2022.L4", "mok2022.L9", "mok2022.L10"]


@pytest.mark.parametrize("cid", QUICK)
def test_quick_check_passes(cid):
    check = next(c for c in all_checks() if c.id == cid)
    r = run_check(check, Context(seed=1))
    assert r.verdict == ("consistent" if check.kind == "consistency" else "pass"), (r.reason, r.error, r.measured,
                                                                                     r.claimed)


def test_every_record_is_complete():
    ids = set()
    for c in all_checks():
        if c.paper not in ("tenas2021", "mok2022"):
            continue
        ids.add(c.id)
        assert c.claim and c.source and c.how_measured and c.tolerance and c.tolerance_reason
    labels = {f"tenas2021.T{i}" for i in (1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12)} | {"tenas2021.T3a", "tenas2021.T3b"}
    labels |= {f"mok2022.L{i}" for i in (1, 2, 3, 4, 5, 8, 9, 10)} | {"mok2022.L6a", "mok2022.L6b", "mok2022.L7a",
                                                                     "mok2022.L7b"}
    assert labels <= ids                      # the digests' T- and L-lists are all covered
