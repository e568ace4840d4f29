"""Names a package re-exports but imports on first use (a lighter start)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, later: Mapping[str, tuple[str, ...]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name in ``later[module]`` is imported
    from ``module`` when first read, then kept on the package."""

    def __getattr__(name: str) -> Any:
        for module, names in later.items():
            if name in names:
                value = getattr(importlib.import_module(module), name)
                setattr(sys.modules[package], name, value)
                return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
