#!/usr/bin/env bash
# Create the separate virtualenv with google's neural-tangents (JAX, CPU) used as the peer in
# benchmarks/bench_kernels.py.  ntkcheck itself is NOT installed there: the benchmark runs ntkcheck in your
# normal environment and talks to a worker process started with this venv's python.
#
# Usage: benchmarks/setup_peer_env.sh [VENV_DIR]        (default: .venv-peer in the repository root)
#
# Pins (tested 2026-11-25 on Linux x86_64, Python 3.11):
#   neural-tangents 0.6.5 is the latest release (Jan 2024).  It imports `Jaxpr`, `ShapedArray`, ... from
#   `jax.core`, which jax >= 0.6 no longer exports  -> jax must be < 0.6 (0.5.3 works, 0.4.38 works too).
#   Its package __init__ imports neural_tangents.experimental (TF interop), so tensorflow >= 2.15 and
#   tf2jax are hard requirements.  tf2jax 0.3.8 requires jax >= 0.7.1 (and fails with `jax.extend.sharding`
#   on older jax) -> tf2jax 0.3.7.  The un-pinned `pip install "jax[cpu]" neural-tangents` installs
#   jax 0.10.x and fails at import time with
#   "ImportError: cannot import name 'Jaxpr' from 'jax.core'".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv-peer}"
PY="${PYTHON:-python3}"

"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet \
    "jax[cpu]==0.5.3" "jaxlib==0.5.3" \
    "neural-tangents==0.6.5" \
    "tf2jax==0.3.7" \
    "tensorflow==2.21.0"

# Smoke test: float64 NTK of a 1-hidden-layer ReLU net; diagonal = 2 * (2|x|^2/d) exactly for sigma_w^2 = 2.
"$VENV/bin/python" - <<'PY'
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
import neural_tangents as nt
from neural_tangents import stax
_, _, kfn = stax.serial(stax.Dense(1, W_std=2 ** 0.5, b_std=0.0), stax.Relu(),
                        stax.Dense(1, W_std=2 ** 0.5, b_std=0.0))
X = np.random.default_rng(0).standard_normal((4, 3))
K = np.asarray(kfn(X, None, "ntk"))
assert K.dtype == np.float64, K.dtype
ref = 2 * 2 * np.sum(X * X, 1) / 3
assert np.allclose(np.diag(K), ref, rtol=1e-6), (np.diag(K), ref)
print(f"peer env OK: jax {jax.__version__}, neural-tangents {nt.__version__}, x64 on")
PY
echo "peer python: $VENV/bin/python"
