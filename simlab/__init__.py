"""simlab: LLM-driven agents negotiating and deciding under emotional pressure.

Every run is stored in a DuckDB run store from which statistical reports and the
dashboard are built. See docs/architecture.md for the layers.

The Python API for scripts lives in `simlab.api` and is importable from here:
`simlab.run_study`, `simlab.Study`, `simlab.open_store`, `simlab.report`. Those
names are loaded on first use (module ``__getattr__``, PEP 562), so ``import
simlab`` stays light and a lower layer importing ``simlab.errors`` never pulls
in the top of the package.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_API = ("run_study", "Study", "open_store", "report", "StoreReader")
__all__ = ["__version__", *_API]

if TYPE_CHECKING:  # pragma: no cover
    from simlab.api import StoreReader, Study, open_store, run_study


def __getattr__(name: str) -> Any:
    if name == "report":  # the report subpackage, which is callable: simlab.report(study_id, ...)
        import importlib

        return importlib.import_module("simlab.report")
    if name in _API:
        from simlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'simlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])
