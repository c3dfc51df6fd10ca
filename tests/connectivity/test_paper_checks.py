"""The fast exact Chen et al. 2022 paper checks run and pass here (the slow C4, C8-C10, C16, C18, C19 run under
``ntkcheck verify``; tests/paper_checks/test_mutations_tenas_chen.py shows each can fail).  A check that crashed would report ``error``; one whose two sides disagree, ``fail``."""

import pytest

from ntkcheck.paper_checks.check import Context, run_check
from ntkcheck.paper_checks.chen2022 import CHECKS

FAST = ("C1", "C2", "C3", "C5", "C6", "C7", "C11", "C12", "C13", "C14", "C17", "C20")


def test_ids_cover_c1_to_c20():
    ids = [f"chen2022.C{i}" for i in range(1, 21)]
    ids.insert(ids.index("chen2022.C16") + 1, "chen2022.C16_size")     # does (d̄, m̄) add beyond size (extension)
    assert [c.id for c in CHECKS] == ids


@pytest.mark.parametrize("label", FAST)
def test_fast_checks_pass(label):
    check = next(c for c in CHECKS if c.id == f"chen2022.{label}")
    res = run_check(check, Context(scale="small", seed=0))
    expected = "consistent" if check.kind == "consistency" else "pass"
    assert res.verdict == expected, (res.reason, res.error, res.measured, res.claimed)
