"""The command line: --version, --help, and the layer rule checked by import-linter."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tui import __version__
from tui.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"finetune-tui {__version__}"


def test_help_names_the_workspace_option() -> None:
    text = build_parser().format_help()
    assert "--workspace DIR" in text
    assert "./.finetune" in text


def test_module_entry_point_runs_without_importing_heavy_libraries() -> None:
    code = (
        "import sys; from tui.cli import main; "
        "import tui.app; "
        "heavy = [m for m in ('torch', 'transformers', 'datasets', 'openai', 'trl', 'peft', 'tiktoken') if m in sys.modules]; "
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def lint_imports(folder: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    return subprocess.run([exe], cwd=folder, capture_output=True, text=True)


def test_backends_never_import_the_ui() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_layer_contract_catches_a_violation(tmp_path: Path) -> None:
    for name in ("backends", "tui"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "backends" / "leak.py").write_text("import textual.widgets\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
