"""Shapes in sceneprior's jaxtyping annotations are checked at run time (beartype) in every test."""

from jaxtyping import install_import_hook

with install_import_hook("sceneprior", "beartype.beartype"):
    import sceneprior  # noqa: F401  (the hook instruments every sceneprior module imported below)
    import sceneprior.geometry  # noqa: F401
