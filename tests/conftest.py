"""Shapes in sceneprior's jaxtyping annotations are checked at run time (beartype) in every test.

The hook stays installed for the whole session, so every ``sceneprior`` module imported by any test file is
instrumented (a ``with`` block would only cover modules imported inside it).
"""

from jaxtyping import install_import_hook

install_import_hook("sceneprior", "beartype.beartype")
