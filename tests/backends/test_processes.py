"""The JSON-lines children: how one ends once its work is said."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.helpers import PATIENCE_S

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import atexit, sys
from pathlib import Path
from backends.processes import exit_now, send_to_parent
atexit.register(lambda: Path(sys.argv[1]).write_text("teardown ran"))
send_to_parent({"done": "yes"})
sys.stdout.write("half a line")
sys.stderr.write("last words")
exit_now(3)
"""


def test_exit_now_flushes_what_was_said_and_skips_the_teardown(tmp_path: Path) -> None:
    """What the child wrote reaches the parent whole, with its exit code; the interpreter's
    teardown (atexit, module cleanup: 1-2 s with torch loaded) does not run."""
    from backends.processes import read_messages

    marker = tmp_path / "teardown"
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(marker)],
        capture_output=True,
        cwd=ROOT,
        timeout=PATIENCE_S,
    )
    assert child.returncode == 3
    assert list(read_messages(child.stdout.splitlines())) == [{"done": "yes"}]
    assert child.stdout.endswith(b"half a line")
    assert child.stderr == b"last words"
    assert not marker.exists()


def test_importable_env_puts_the_package_root_first_once() -> None:
    import os
    from pathlib import Path

    from backends.processes import importable_env

    root = str(Path(__file__).resolve().parents[2])
    env = importable_env({"PYTHONPATH": "/elsewhere", "KEEP": "1"})
    assert env["PYTHONPATH"].split(os.pathsep) == [root, "/elsewhere"] and env["KEEP"] == "1"
    assert importable_env(env)["PYTHONPATH"] == env["PYTHONPATH"]  # not added twice
