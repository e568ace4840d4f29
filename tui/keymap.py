"""Your own keys: ``keymap.toml`` in the user config folder remaps any binding by its id.

    # ~/.config/finetune-tui/keymap.toml  (platformdirs' user config folder)
    next = "ctrl+j"
    back = "escape,ctrl+h"

Every binding in the app has an id (``next``, ``back``, ``help``, ``quit``,
``catalog``...); ``finetune-tui --help`` does not need to know about them, the
help screen lists them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from backends.locations import config_dir


def keymap_path() -> Path:
    return config_dir() / "keymap.toml"


@dataclass(frozen=True)
class LoadedKeymap:
    keys: dict[str, str]
    problem: str | None = None


def load_keymap(path: Path, known_ids: set[str]) -> LoadedKeymap:
    """Read ``path``; a missing file is an empty keymap, a bad one a message naming what and where."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadedKeymap({})
    except OSError as error:
        return LoadedKeymap({}, f"Could not read {path}: {error.strerror or error}.")
    if sys.version_info >= (3, 11):  # only a keymap file that exists is parsed: not at every start
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        return LoadedKeymap({}, f"{path} is not valid TOML ({error}); using the default keys.")
    keys: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, value in data.items():
        if binding_id not in known_ids:
            problems.append(f"unknown binding id {binding_id!r}")
        elif not isinstance(value, str) or not value.strip():
            problems.append(f'{binding_id} must be a key string such as "ctrl+j"')
        else:
            keys[binding_id] = value.strip()
    if problems:
        known = ", ".join(sorted(known_ids))
        return LoadedKeymap(keys, f"{path}: {'; '.join(problems)}. Known ids: {known}.")
    return LoadedKeymap(keys)
