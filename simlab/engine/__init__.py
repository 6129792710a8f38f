"""The negotiation engine: utilities, outcome metrics, protocols and the Mesa model."""
