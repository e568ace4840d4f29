"""The wizard's choices kept between sessions: ``choices.json`` in the workspace.

The Dataset and Backend steps' choices (the files, the backend, the model and
its settings; never a key) are written atomically after each step, like the
decision. The caller turns the saved sections into its own values with a
``parse`` function that raises ``ValueError`` for a value it cannot use. A file
that cannot be read back (broken JSON, a wrong shape, a newer schema, a value
``parse`` refuses) is copied aside first and the caller gets a message saying
what was wrong and where the copy is: a fresh start, never a crash, never a
silent overwrite.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

from backends.files import free_name, private_dir, read_regular_file, write_json_atomic
from backends.workspace import Workspace

SCHEMA_VERSION = 1
SECRET_WORDS = ("secret", "key", "token", "password")
"""A section's field whose name holds one of these is never written."""

Parsed = TypeVar("Parsed")


@dataclass(frozen=True)
class LoadedChoices(Generic[Parsed]):
    value: Parsed | None
    """What ``parse`` made of the saved sections, or ``None`` (nothing saved, or unusable)."""
    problem: str | None = None
    """Why a file that exists could not be used (what, where, and where the copy went)."""
    backup: Path | None = None


def save_choices(workspace: Workspace, sections: Mapping[str, Mapping[str, Any]]) -> None:
    """Write ``sections`` (e.g. ``dataset``, ``backend``) to ``choices.json``, atomically.

    Raises ``OSError`` when the workspace cannot be written; ``ValueError`` for a field
    that looks like a secret (a bug: secrets are never written).
    """
    for name, section in sections.items():
        for field_name in section:
            if any(word in field_name.lower() for word in SECRET_WORDS):
                raise ValueError(f"{name}.{field_name} looks like a secret: it is never written")
    private_dir(workspace.root)
    write_json_atomic(
        workspace.choices_json,
        {"schema_version": SCHEMA_VERSION, **{k: dict(v) for k, v in sections.items()}},
    )


def load_choices(
    workspace: Workspace, parse: Callable[[Mapping[str, Any]], Parsed]
) -> LoadedChoices[Parsed]:
    """The saved choices through ``parse``; a damaged file is kept aside and explained."""
    path = workspace.choices_json
    try:
        raw = read_regular_file(path)
    except (FileNotFoundError, NotADirectoryError):
        return LoadedChoices(
            None
        )  # nothing saved (a workspace that is no folder: the decision says)
    except (OSError, ValueError) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else error
        return LoadedChoices(None, f"Could not read {workspace.display(path)}: {why}.")
    try:
        value = parse(_sections(raw))
    except ValueError as error:
        backup = free_name(path, ".bad")
        try:
            shutil.copy2(path, backup)
        except OSError as copy_error:
            return LoadedChoices(
                None,
                f"{workspace.display(path)} is unreadable ({error}) and could not be copied "
                f"aside ({copy_error.strerror or copy_error}); your earlier choices are not "
                "restored.",
            )
        return LoadedChoices(
            None,
            f"{workspace.display(path)} could not be used: {error}. It was kept as "
            f"{workspace.display(backup)}; the Dataset and Backend steps start afresh.",
            backup,
        )
    return LoadedChoices(value)


def _sections(raw: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object at the top")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError("no schema_version: not a finetune-tui choices file")
    if version != SCHEMA_VERSION:
        raise ValueError(f"schema_version {version} (this version reads {SCHEMA_VERSION})")
    sections = {k: v for k, v in data.items() if k != "schema_version"}
    for name, section in sections.items():
        if not isinstance(section, dict):
            raise ValueError(f"{name}: expected an object")
    return sections


def field(section: Mapping[str, Any], name: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``section[name]`` when present and of ``kind`` (``None`` when absent); ``ValueError`` else."""
    if name not in section or section[name] is None:
        return None
    value = section[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
        raise ValueError(f"{where}.{name}: {value!r} is not a {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "whole number", float: "number", dict: "object", bool: "yes/no"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)
