"""Shared core: one declarative Base, the engine and session, column types, errors, identity, the trail.

Every domain package may import ``core``; ``core`` imports no domain package and never the web layer.
"""
