"""Shapes in sceneprior's jaxtyping annotations are checked at run time (beartype) in every test.

The hook stays installed for the whole session, so every ``sceneprior`` module imported by any test file is
instrumented (a ``with`` block would only cover modules imported inside it).
"""

from jaxtyping import install_import_hook

install_import_hook("sceneprior", "beartype.beartype")


import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests (``pytestmark = pytest.mark.usefixtures("one_torch_thread")``): on
    the shared 2-core machine two threads spin against other jobs (up to 8x slower on tiny tensors)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
