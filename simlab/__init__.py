"""simlab: LLM-driven agents negotiating and deciding under emotional pressure.

Every run is stored in a DuckDB run store from which statistical reports and the
dashboard are built. See DESIGN.md (shared/) for the architecture.
"""
from __future__ import annotations

__version__ = "0.1.0"
