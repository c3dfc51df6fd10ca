"""ntkcheck: numerical verification of neural-tangent-kernel theory used in neural architecture search.

Subpackages (installed as ``ntkcheck.<name>``, living at the repository's top level):

* ``ntkcheck.theory``       exact infinite-width kernels, Hermite coefficients, bounds (numpy/scipy/sympy only);
* ``ntkcheck.empirical``    the same quantities measured on finite-width torch networks;
* ``ntkcheck.paper_checks`` every checkable claim of the four source papers as a named check;
* ``ntkcheck.figures``      regenerated figures.

The architecture contract is ``ntkcheck.spec.ArchSpec``; see the README's spec format and ``docs/``.
"""

__version__ = "0.1.0"

from .errors import NtkcheckError  # noqa: E402,F401
