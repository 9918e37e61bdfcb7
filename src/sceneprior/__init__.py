"""sceneprior: learned 3D inference. Priors over families of 3D scenes, learned from posed images."""

__version__ = "0.1.0"
