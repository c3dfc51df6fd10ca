"""Sweeps of registered metrics over a whole search space.

* :mod:`ntkcheck.sweep.inputs`: the inputs every metric reads (CIFAR batches or bundled natural-image crops);
* :mod:`ntkcheck.sweep.store`: the crash-safe SQLite results store;
* :mod:`ntkcheck.sweep.engine`: planning, the local pool and Dask engines, the driver loop;
* :mod:`ntkcheck.sweep.report`: export, rank correlations against the NB201 accuracies, figures.

The submodules are imported where they are used (``ntkcheck.metrics`` reads :mod:`ntkcheck.sweep.inputs`, the
engine reads :mod:`ntkcheck.metrics`), so this package's ``__init__`` imports none of them.
"""
