"""Executable specs: one module per family of claims from the catalogue (``verify.claims``)."""
