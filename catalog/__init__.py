"""Catalog specs (pydantic schemas) and the deterministic sampler. Pure data: no IO beyond reading a spec."""
