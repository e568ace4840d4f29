"""A plain (non-editable) install of the wheel gives a working app, stylesheet included."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("finetune_tui-*.whl")
    return built


def test_wheel_carries_the_stylesheet_and_both_layers(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "tui/screens.tcss" in names
    assert "tui/app.py" in names
    assert "backends/decision/rules.py" in names
    assert not any(name.startswith("tests/") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "finetune-tui = tui.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_fresh_virtualenv_runs_the_installed_app(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    # Only the wheel: a PYTHONPATH pointing at a checkout would shadow it.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    python = venv / "bin" / "python"
    # Dependencies come from this environment (no network in tests); the app itself
    # only from the wheel: a .pth appends our site-packages after the venv's own.
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "outer_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--ignore-installed",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "work"
    work.mkdir()

    version = subprocess.run(
        [str(venv / "bin" / "finetune-tui"), "--version"],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("finetune-tui ")

    smoke = textwrap.dedent(
        """
        import asyncio, sys
        from pathlib import Path
        import tui
        from tui.app import FinetuneApp, stylesheet_path
        assert Path(tui.__file__).is_relative_to(Path(sys.prefix)), tui.__file__
        assert stylesheet_path().parent == Path(tui.__file__).parent

        async def main():
            app = FinetuneApp()
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.pause()
                title = app.screen.query_one("#step-title")
                assert title.styles.margin.top == 1, "screens.tcss was not applied"
                print(type(app.screen).__name__)

        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [str(python), "-c", smoke], cwd=work, capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "UseCaseScreen"
