"""Defaults shared by the command line, the benchmarks and the API (a leaf module: it imports nothing)."""

#: the main job's model (``reconstruct``, ``serve``, ``bench reconstruct``, ``eval default``): a shipped model's name
DEFAULT_MODEL = "cars-splatter-v3"
