"""A real terminal (a tmux session) to drive a command by keys and read its screen."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.support.helpers import PATIENCE_S


class Terminal:
    def __init__(self, session: str, cwd: Path, command: str, size: tuple[int, int]) -> None:
        self.session = session
        subprocess.run(
            [
                "tmux",
                "new-session",
                "-d",
                "-s",
                session,
                "-x",
                str(size[0]),
                "-y",
                str(size[1]),
                "-c",
                str(cwd),
                command,
            ],
            check=True,
        )

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.session], capture_output=True, text=True
        ).stdout

    def wait_for(self, text: str, timeout: float = PATIENCE_S) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{self.screen()}")

    def press_until(self, key: str, text: str, *, each: float = 10.0) -> str:
        """Press ``key`` until ``text`` shows, waiting ``each`` seconds after a press (for a
        key that only works once something else has happened, e.g. focus has moved)."""
        deadline = time.monotonic() + PATIENCE_S
        while True:
            self.keys(key)
            try:
                return self.wait_for(text, timeout=min(each, max(deadline - time.monotonic(), 0)))
            except AssertionError:
                if time.monotonic() >= deadline:
                    raise

    def keys(self, *keys: str) -> None:
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.session, key], check=True)
            time.sleep(0.15)

    def alive(self) -> bool:
        return (
            subprocess.run(
                ["tmux", "has-session", "-t", self.session], capture_output=True
            ).returncode
            == 0
        )

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)
