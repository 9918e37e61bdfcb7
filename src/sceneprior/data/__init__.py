"""Observations: datasets, loaders, the procedural generator and dataset validation."""
