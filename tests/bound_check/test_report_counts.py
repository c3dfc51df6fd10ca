"""The bound checker's report adds up (one status per tried configuration, exclusions counted apart) and, without
--out, prints the counterexample's spec and data as JSON a user can paste into `ntkcheck kernel`."""

import json

from ntkcheck.bound_check import check_bound
from ntkcheck.cli import main


def test_status_counts_add_up_to_the_configurations_tried(tmp_path):
    r = check_bound("ntk_lambda_min", lower="nngp_lambda_min", assume=["N*d <= 20"], space="fc", trials=15, seed=0,
                    out=tmp_path, min_evidence=1)
    doc = json.loads((tmp_path / "report.json").read_text())
    assert sum(doc["counts"].values()) == doc["tried"] == r.tried == 15
    assert "excluded" not in doc["counts"] and doc["excluded"] == r.counts.get("excluded", 0)
    md = (tmp_path / "report.md").read_text()
    assert f"configurations tried: {r.tried} (" in md and "{" not in md.split("configurations tried")[1].split("\n")[0]


def test_counterexample_printed_as_json_without_out(capsys):
    code = main(["bound", "--quantity", "ntk_lambda_min", "--upper", "nngp_lambda_min", "--space", "nb201",
                 "--trials", "40"])
    assert code == 1
    out = capsys.readouterr().out
    doc = json.loads(out.split("spec and data (JSON): ", 1)[1].splitlines()[0])
    assert set(doc) == {"spec", "X"} and doc["spec"]["nodes"] == 4 and len(doc["X"]) >= 1
    assert main(["kernel", json.dumps(doc["spec"]), "--sphere", "3", "4", "--quiet"]) == 0
