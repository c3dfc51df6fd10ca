"""Shared test configuration: make tests/strategies.py importable and pin hypothesis to CI-friendly settings."""

import os
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.configuration import set_hypothesis_home_dir

sys.path.insert(0, str(Path(__file__).parent))

# Deterministic, no wall-clock deadlines (no timed assertions), and no flaky "too slow" health checks on a
# loaded 2-core CI machine.
settings.register_profile("ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("NTKCHECK_HYPOTHESIS_PROFILE", "ci"))
# hypothesis' storage (constants cache, example database) in the temp dir, never `.hypothesis/` in the cwd
set_hypothesis_home_dir(os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")
                        or os.path.join(tempfile.gettempdir(), "ntkcheck-test-hypothesis"))
