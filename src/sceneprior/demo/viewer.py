"""Moved to :mod:`sceneprior.inference.viewer` (the main job's outputs live with the main job); this name keeps old
imports working."""

from ..inference.viewer import *  # noqa: F401,F403
