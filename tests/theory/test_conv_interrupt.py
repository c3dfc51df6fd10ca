"""An interrupt (Ctrl-C in the caller, or an exception in the progress callback) stops the exact conv-kernel
engine between chunks: chunks queued after it never start, so a long run stops within one chunk's time."""

import numpy as np
import pytest

from ntkcheck.theory import conv_kernels as ck

CELL = "|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|"


@pytest.mark.parametrize("workers", [1, 2])
def test_interrupt_stops_between_chunks(workers, monkeypatch):
    X = np.random.default_rng(0).standard_normal((12, 1, 4, 4))
    started = []
    orig = ck._Chunk

    def counting(*a, **k):
        started.append(1)
        return orig(*a, **k)
    monkeypatch.setattr(ck, "_Chunk", counting)
    calls = []

    def progress(k):
        calls.append(k)
        if len(calls) == 14:              # pass 1 has 12 diagonal chunks of one image; interrupt in pass 2
            raise KeyboardInterrupt
    # block of 16 floats = one image pair per chunk at 4x4 images: 12 + 66 chunks in all
    with pytest.raises(KeyboardInterrupt):
        ck.conv_cells_kernels([CELL], X, block_floats=16 * 16, workers=workers, progress=progress)
    assert len(started) <= 14 + workers          # at most the chunks already running went on
    full = []
    ck.conv_cells_kernels([CELL], X, block_floats=16 * 16, workers=workers, progress=full.append)
    assert sum(full) == 12 * 13 // 2              # progress counts every image pair once: N(N+1)/2
