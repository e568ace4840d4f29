"""Small helpers shared by tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from textual.pilot import Pilot

T = TypeVar("T")

PATIENCE_S = 300.0
"""The ceiling of every wait in the tests. A test waits for its condition, never for a
time; the ceiling only ends a test that would wait forever, so it is generous: a busy CI
machine (both cores taken by other work) must never reach it. Speed lives in ``bench/``."""


def wait_for(predicate: Callable[[], T], timeout: float = PATIENCE_S, interval: float = 0.02) -> T:
    """``predicate()`` once it is truthy; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s: {predicate}")


async def until(pilot: Pilot, condition: Callable[[], T], what: str | Callable[[], str]) -> T:
    """Let the app run until ``condition()`` is truthy (``what`` names it if it never is; a
    callable ``what`` is asked only then, for what the app's state was)."""
    deadline = time.monotonic() + PATIENCE_S
    while not (value := condition()):
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"{what() if callable(what) else what}: not within {PATIENCE_S:.0f} s"
            )
        await pilot.pause(0.02)
    await pilot.pause()
    return value


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle``."""
    data = needle.encode()
    return [p for p in root.rglob("*") if p.is_file() and data in p.read_bytes()]


class FullDisk:
    """A ``write_json_atomic`` that refuses with ENOSPC ``refusals`` times, then writes."""

    def __init__(self, real: Callable[[Path, object], None], refusals: int) -> None:
        self.real = real
        self.left = refusals

    def __call__(self, path: Path, value: object) -> None:
        import errno

        if self.left > 0:
            self.left -= 1
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        self.real(path, value)


async def palette_run(pilot: Pilot, words: str, match: str | None = None) -> None:
    """Open the command palette, type ``words``, wait until its first hit names ``match``
    (``words`` when not given), then run it with Enter. The palette searches in a worker:
    Enter before the hits are in would pick nothing."""
    from textual.command import CommandList

    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*words)
    wanted = (words if match is None else match).lower()

    def first_hit() -> str:
        found = pilot.app.screen.query(CommandList)
        if not found or not found.first().option_count:
            return ""
        return str(found.first().get_option_at_index(0).prompt).lower()

    await until(pilot, lambda: wanted in first_hit(), f"the palette's hit for {words!r}")
    await pilot.press("enter")
    await pilot.pause()
