"""A file or folder of a Debian package that ships 3D models, for the scripts that build data from them
(``real_cars_checkset.py``, ``torcs_cars.py``): the installed copy when the package is installed, else the package
extracted from a given ``.deb``, else from one ``apt-get download`` fetches into the work folder."""

from __future__ import annotations

import subprocess
from pathlib import Path


def package_path(package: str, inside: str, work: Path, deb: Path | None) -> Path:
    """``/<inside>`` of ``package``: installed (when no ``deb`` is given), or extracted into ``work/deb``."""
    installed = Path("/") / inside
    if deb is None and installed.exists():
        return installed
    work.mkdir(parents=True, exist_ok=True)
    if deb is None:
        subprocess.run(["apt-get", "download", package], cwd=work, check=True)
        deb = sorted(work.glob(f"{package}_*.deb"))[-1]
    target = work / "deb"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
    return target / inside
