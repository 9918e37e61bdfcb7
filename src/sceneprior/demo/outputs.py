"""Moved to :mod:`sceneprior.inference.outputs` (the main job's outputs live with the main job); this name keeps old
imports working."""

from ..inference.outputs import *  # noqa: F401,F403
