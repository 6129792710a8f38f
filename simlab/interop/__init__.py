"""Interoperation with other negotiation tools: Genius XML domains (`genius`).

Layer: beside `stats` and `store` (imports only `config` and below).
"""
