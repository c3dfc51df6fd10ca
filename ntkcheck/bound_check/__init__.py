"""Check a new NTK/NNGP eigenvalue bound before proving it: adversarial search for a certified, shrunk
counterexample (vocabulary: ``ntkcheck/bound_check/README.md``). See :mod:`ntkcheck.bound_check.api`."""

from .api import assert_bound_holds, check_bound, describe_counterexample
from .problem import Configuration, Evaluation, Problem, evaluate, make_problem
from .quantities import QUANTITIES
from .search import SearchResult, search
from .strategies import (architectures, chen_dag_specs, dag_specs, datasets, fc_specs, nb201_specs,
                         residual_specs)
from .vocabulary import NAMES, BoundContext, parse_assumption, parse_bound

__all__ = ["check_bound", "assert_bound_holds", "describe_counterexample", "make_problem", "Problem",
           "Configuration", "Evaluation", "evaluate", "search", "SearchResult", "QUANTITIES", "NAMES",
           "BoundContext", "parse_bound", "parse_assumption", "architectures", "datasets", "fc_specs",
           "residual_specs", "nb201_specs", "dag_specs", "chen_dag_specs"]
