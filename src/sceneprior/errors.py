"""Errors that reach the user as one line. The CLI prints ``str(error)`` and exits non-zero."""

from __future__ import annotations

import errno
from pathlib import Path


def printable(text: str) -> str:
    """``text`` with the undecodable bytes of non-UTF-8 file names (lone surrogates) written as ``\\xNN``, so
    that it can be printed on any terminal."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class SceneError(Exception):
    """Base class of every error sceneprior reports to a user (never shown as a traceback)."""


class DataError(SceneError):
    """A file of a dataset (or an input image) is missing, unreadable or inconsistent.

    ``str(error)`` is ``"<path>: <problem>"`` so the user sees which file and what is wrong.
    """

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(printable(f"{path}: {problem}" if path is not None else problem))


class ConfigError(SceneError):
    """A configuration, preset name or command-line value is invalid."""


class TrainingError(SceneError):
    """Training cannot go on (e.g. a non-finite loss or gradient with ``--on-nonfinite stop``)."""


class WriteError(SceneError):
    """A file or folder cannot be written (disk full, read-only, no permission): ``"<path>: cannot write (<reason>)"``."""

    def __init__(self, path: str | Path, error: OSError | str) -> None:
        self.path = Path(path)
        reason = error if isinstance(error, str) else (error.strerror or str(error))
        hint = ""
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            hint = "; free some space or write elsewhere"
        elif isinstance(error, OSError) and error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            hint = "; write elsewhere"
        super().__init__(printable(f"{path}: cannot write ({reason}){hint}"))
