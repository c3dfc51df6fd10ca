"""The shipped exact conv-kernel table of all NB201 cells: checksums, structure, and rows recomputed with the CLI.

Tolerance of the recomputation: the table and ``ntkcheck kernel`` compute the same float64 sums in different
orders (a batch of cells sharing prefixes vs one cell), so their Gram entries differ by rounding (~1e-15
relative); λ_min may then differ by both certified error bounds (N·ε·‖K‖ each) plus N times the entry
difference, bounded here by 16·1e-13·λ_max.  A modelling change (e.g. dropping the cross terms) moves λ_min
by O(λ_min), orders of magnitude more.
"""

import json

import numpy as np
import pytest

import ntkcheck.data as data


@pytest.fixture(scope="module")
def table():
    return data.nb201_conv_kernel_table()


def test_table_covers_the_space_in_nb201_order(table):
    from ntkcheck.theory.conv_kernels import cell_is_degenerate

    assert len(table) == 15625 and table.arch == data.nb201_table().arch
    deg = np.array([cell_is_degenerate(a) for a in table.arch])
    np.testing.assert_array_equal(table.degenerate, deg)
    assert deg.sum() == 341
    for name in ("ntk_lambda_min", "nngp_lambda_min", "ntk_kappa", "nngp_kappa"):
        col = np.asarray(getattr(table, name))
        assert np.isnan(col[deg]).all() and not np.isnan(col[~deg]).any(), name
    live = ~deg
    assert (table.ntk_lambda_min[live] > table.ntk_lambda_min_error[live]).all()   # every live NTK is definite
    np.testing.assert_allclose(table.ntk_kappa[live], table.ntk_lambda_max[live] / table.ntk_lambda_min[live],
                               rtol=1e-15)
    assert (table.ntk_lambda_min[live] >= table.nngp_lambda_min[live] - table.ntk_lambda_min_error[live]).all()


def test_images_are_the_stated_input_set(table):
    from ntkcheck.data.conv_kernel_table import table_images

    assert table.images.shape == (16, 3, 8, 8) and table.images.dtype == np.float64
    np.testing.assert_array_equal(table.images, table_images())
    np.testing.assert_allclose(np.linalg.norm(table.images.reshape(16, -1), axis=1), 1.0, rtol=1e-14)


def test_members_of_a_class_share_their_row(table):
    from ntkcheck.theory.conv_kernels import conv_cell_classes

    classes = conv_cell_classes(table.arch)
    assert len(classes) - 1 == 8764
    big = max((m for k, m in classes.items() if k is not None), key=len)
    assert len(set(table.ntk_lambda_min[big].tolist())) == 1


@pytest.mark.parametrize("which", ["table", "images"])
def test_checksums_are_verified(monkeypatch, which):
    data.nb201_conv_kernel_table.cache_clear()
    monkeypatch.setattr(data, "CONV_TABLE_SHA256" if which == "table" else "CONV_IMAGES_SHA256", "0" * 64)
    try:
        with pytest.raises(data.DataIntegrityError, match="sha256"):
            data.nb201_conv_kernel_table()
    finally:
        data.nb201_conv_kernel_table.cache_clear()


def test_random_rows_recompute_with_ntkcheck_kernel(table, tmp_path, capsys):
    from ntkcheck.cli import main

    X = tmp_path / "images.npy"
    np.save(X, np.asarray(table.images))
    live = np.flatnonzero(~np.asarray(table.degenerate))
    for i in np.random.default_rng(7).choice(live, 2, replace=False):
        spec = json.dumps({"nb201": table.arch[i], "kernel": "conv", "image": [3, 8, 8]})
        out = tmp_path / f"k{i}.npz"
        assert main(["kernel", spec, str(X), "-o", str(out), "--quiet"]) == 0
        z = np.load(out)
        for k in ("ntk", "nngp"):
            tol = (float(z[f"{k}_lambda_min_error"]) + float(getattr(table, f"{k}_lambda_min_error")[i])
                   + 16 * 1e-13 * float(getattr(table, f"{k}_lambda_max")[i]))
            assert abs(float(z[f"{k}_lambda_min"]) - float(getattr(table, f"{k}_lambda_min")[i])) <= tol, (i, k)
    capsys.readouterr()


def test_table_command_rejects_bad_arguments(tmp_path, capsys):
    from ntkcheck.cli import main

    for argv, word in [(["kernel", "--nb201-all", "--table", str(tmp_path / "t.csv.gz")], "--conv"),
                       (["kernel", "--nb201-all", "--conv", "--table", str(tmp_path / "t.csv")], ".csv.gz"),
                       (["kernel", "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|", "--sphere", "3", "4",
                         "--table", str(tmp_path / "t.csv.gz")], "--table")]:
        assert main(argv) == 2
        assert word in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_builder_matches_the_engine_and_resumes_from_its_chunks(tmp_path, monkeypatch):
    """build_conv_kernel_table on 12 cells (two of one class, one degenerate) against conv_lambda_min_table cell by
    cell; a second call reads every chunk back (the engine is never called) and gives identical columns."""
    from ntkcheck.data import conv_kernel_table as ckt
    from ntkcheck.theory import conv_kernels
    from ntkcheck.theory.conv_kernels import conv_lambda_min_table

    a = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|skip_connect~1|avg_pool_3x3~2|"
    b = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|avg_pool_3x3~1|skip_connect~2|"   # a, nodes 1 and 2 swapped
    dead = "|none~0|+|none~0|nor_conv_3x3~1|+|none~0|skip_connect~1|none~2|"
    rng = np.random.default_rng(3)
    arch = tuple([a, b, dead] + [data.nb201_table().arch[i] for i in rng.choice(15625, 9, replace=False)])
    X = np.random.default_rng(0).standard_normal((4, 3, 3, 3))
    cols = ckt.build_conv_kernel_table(X, arch, chunk_dir=tmp_path, chunk=4)
    ref = conv_lambda_min_table(arch, X)
    live = ~ref.degenerate
    np.testing.assert_array_equal(cols["degenerate"], ref.degenerate)
    np.testing.assert_allclose(cols["ntk_lambda_min"][live], ref.ntk_lambda_min[live], rtol=1e-10)
    np.testing.assert_allclose(cols["nngp_lambda_min"][live], ref.nngp_lambda_min[live], rtol=1e-10)
    assert cols["ntk_lambda_min"][0] == cols["ntk_lambda_min"][1] and np.isnan(cols["ntk_kappa"][2])

    def boom(*args, **kw):
        raise AssertionError("recomputed a cached chunk")

    monkeypatch.setattr(conv_kernels, "conv_cells_kernels", boom)
    again = ckt.build_conv_kernel_table(X, arch, chunk_dir=tmp_path, chunk=4)
    for k in cols:
        np.testing.assert_array_equal(again[k], cols[k])
