"""The shipped NAS-Bench-201 table: checksum on load, the README's sanity facts, bad input."""

import numpy as np
import pytest

import ntkcheck.data as data


def test_table_matches_readme_facts():
    t = data.nb201_table()
    assert len(t) == 15625 and len(set(t.arch)) == 15625
    assert list(t.index) == list(range(15625))
    best = {d: round(float(t.accuracy[d].max()), 2) for d in data.DATASETS}
    assert best == {"cifar10": 94.37, "cifar100": 73.51, "ImageNet16-120": 47.31}
    # a cell whose every edge is 'none' has no input->output path: chance level
    dead = t.arch.index("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert [round(float(t.accuracy[d][dead]), 2) for d in data.DATASETS] == [10.0, 1.0, 0.83]


def test_nb201_accuracies_is_a_mapping_per_dataset():
    a = data.nb201_accuracies("cifar100")
    assert len(a) == 15625
    assert a["|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"] \
        == pytest.approx(70.293333)
    with pytest.raises(ValueError, match="dataset must be one of"):
        data.nb201_accuracies("cifar-10")


def test_checksum_is_verified(monkeypatch):
    data.nb201_table.cache_clear()
    monkeypatch.setattr(data, "SHA256", "0" * 64)
    try:
        with pytest.raises(data.DataIntegrityError, match="sha256"):
            data.nb201_table()
    finally:
        data.nb201_table.cache_clear()


def test_arrays_are_read_only():
    with pytest.raises(ValueError):
        data.nb201_table().accuracy["cifar10"][0] = 0.0
    assert np.all(np.diff(data.nb201_table().index) == 1)
