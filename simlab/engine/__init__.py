"""The negotiation engine: outcome metrics, the run spec, protocols (`engine.protocols`) and the Mesa model."""
