"""theory/ and the `kernel` command must import and work without torch (design card §8, issue 4)."""

import subprocess
import sys

CODE = r"""
import sys
sys.modules["torch"] = None          # any `import torch` now raises ImportError
import numpy as np
from ntkcheck.theory import activations, dual_kernels, hermite, kernels, nb201, spectra, bounds, connectivity
from ntkcheck.cli import main
X = np.random.default_rng(0).standard_normal((5, 3))
K = kernels.ntk_gram({"fc": ["tanh", "relu"], "skips": []}, X)
assert spectra.certified_eigvalsh(K).lambda_min > 0
assert main(["kernel", "example", "--sphere", "6", "4", "--quiet"]) == 0
assert not [m for m in sys.modules if m.startswith("torch.")], "a torch submodule was imported"
print("ok")
"""


def test_theory_and_kernel_command_work_without_torch():
    r = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().endswith("ok")
