#!/usr/bin/env bash
# Install ntkcheck with its test dependencies and run the full test suite.
# torch is pinned to the local CPU build; an unpinned request would download a multi-GB CUDA build.
set -euo pipefail
python3 -m pip install -q torch==2.13.0
python3 -m pip install -q -e ".[test]"
# pytest exits 5 when no test ran: treat that as a failure, as any other non-zero status.
set +e
python3 -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests: failing the run" >&2; exit 1; fi
exit "$rc"
