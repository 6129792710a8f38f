"""What a local worker process imports before it is forked: the worker, every strategy, pgmpy.

Local workers are forked from a multiprocessing fork server
(`simlab.sweep.executors.local`) that imports this module once. A spawned
worker paid these imports itself, every study and every worker (about 2 s for
simlab, Mesa, DuckDB and pandas, and 3-4 s more for pgmpy, which the Bayesian
orchestrator needs and which imports torch, scikit-learn and statsmodels),
while the driver paid them again for its preflight. With the server started
before the driver's preflight, the imports happen once, on the other core,
while the preflight runs, and each worker starts from them at once.

Nothing here runs a model or opens a file: the server only imports, so the
forked workers inherit no threads, connections or random state.
"""
from __future__ import annotations

import importlib.util
import warnings

import simlab.strategies  # noqa: F401 - every registered strategy module
import simlab.sweep.executors.worker  # noqa: F401 - the worker body, the engine, the backends' registry

if importlib.util.find_spec("pgmpy") is not None:  # the `bayesian_orchestrator` strategy's network
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import pgmpy.factors.discrete  # noqa: F401
        import pgmpy.inference  # noqa: F401
        import pgmpy.models  # noqa: F401
