"""The contract every training backend speaks: ``Backend``, with ``Availability`` (can it be used
now, and if not why), ``Problem`` (what ``prepare`` found before launch) and ``BackendError``
(a failure a person can act on). Which backends exist is ``backends.registry``'s to say.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from backends.runs.values import RunResult, RunSpec, RunState

if TYPE_CHECKING:
    from backends.runs.store import RunFolder, RunStore


@dataclass(frozen=True)
class Availability:
    """Can a backend be used here and now; if not, why, and what to do."""

    ok: bool
    reason: str
    hint: str = ""


@dataclass(frozen=True)
class Problem:
    """Something ``prepare`` found in a spec before anything was launched."""

    message: str
    fatal: bool = True
    where: str = ""
    """File, line or field the problem is about."""


ProgressCallback = Callable[[str, int, int], None]
"""``(what, done, total)``: e.g. ``("train.jsonl", 524288, 1048576)`` while uploading."""


class BackendError(Exception):
    """A failure a person can act on: ``str(error)`` is the whole explanation, never a traceback."""

    def __init__(self, message: str, *, hint: str = "", retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.retryable = retryable

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


class NotSupported(BackendError):
    """The backend cannot do this (e.g. pause on a backend without pause)."""


@runtime_checkable
class Backend(Protocol):
    """A place that trains: hosted (OpenAI, Azure OpenAI) or the local GPU.

    The UI and CLI only call these methods and then read the run folder; a
    backend writes everything a viewer needs into that folder.
    """

    name: str
    """Short id used in ``run.json``: ``openai``, ``azure``, ``local``."""
    label: str
    supports_pause: bool

    def availability(self) -> Availability:
        """Whether this backend can be used now (key present? GPU? extra installed?)."""
        ...

    def prepare(self, spec: RunSpec) -> list[Problem]:
        """Check a spec before launch; an empty list means ready."""
        ...

    def launch(
        self,
        spec: RunSpec,
        store: RunStore,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RunFolder:
        """Start training; returns once the run folder holds what is needed to follow it."""
        ...

    def follow(self, run: RunFolder, *, stop: threading.Event | None = None) -> RunState:
        """Keep the run folder current until the run ends (or ``stop`` is set); the last state."""
        ...

    def cancel(self, run: RunFolder) -> None: ...

    def pause(self, run: RunFolder) -> None:
        """Raises ``NotSupported`` where ``supports_pause`` is false."""
        ...

    def resume(self, run: RunFolder) -> None: ...

    def save_now(self, run: RunFolder) -> None:
        """Save a checkpoint now and go on; raises ``NotSupported`` where the registry says so."""
        ...

    def result(self, run: RunFolder) -> RunResult: ...
