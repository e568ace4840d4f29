"""What the benches do to a checkout before timing it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def compile_like_pip(checkout: Path) -> None:
    """Write the bytecode of ``checkout``'s packages, as ``pip install`` does for an installed
    copy. Where ``PYTHONDONTWRITEBYTECODE`` is set, a checkout run from source would otherwise
    be compiled again at every start, which no installed copy is."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "tui", "backends"],
        cwd=checkout,
        check=True,
        stdout=subprocess.DEVNULL,
    )
