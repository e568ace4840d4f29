"""The command line: --version, --help, and the layer rule checked by import-linter."""

from __future__ import annotations

import argparse
import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tui import __version__
from tui.cli import build_parser, main, modules_needed
from tui.commands import COMMAND_MODULES, COMMANDS

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
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("leak", "statement"),
    [
        ("backends/leak.py", "import textual.widgets"),
        ("tui/screens/leak.py", "import tui.commands.runs"),
        ("backends/runs/leak.py", "import backends.local.backend"),
        ("backends/hosted/leak.py", "import backends.local.backend"),
        ("backends/registry_leak.py", "import backends.hosted.api"),
    ],
)
def test_the_layer_contracts_catch_a_violation(tmp_path: Path, leak: str, statement: str) -> None:
    for name in ("backends", "tui"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / leak).write_text(statement + "\n")
    if leak.startswith("backends/registry_leak"):
        # the registry itself importing a backend is what the contract forbids
        (tmp_path / "backends" / "registry.py").write_text(
            (ROOT / "backends" / "registry.py").read_text() + "\nimport backends.registry_leak\n"
        )
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout


def _small_model(folder: Path) -> Path:
    import orjson

    folder.mkdir()
    config = {
        "model_type": "llama",
        "vocab_size": 32000,
        "hidden_size": 512,
        "num_hidden_layers": 4,
        "intermediate_size": 1024,
        "num_attention_heads": 8,
        "num_key_value_heads": 8,
    }
    (folder / "config.json").write_bytes(orjson.dumps(config))
    return folder


def test_estimate_takes_the_adapter_and_still_the_old_method_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(_small_model(tmp_path / "model"))
    assert main(["estimate", "--model", model, "--adapter", "qlora"]) in (0, 1)
    new = capsys.readouterr()
    assert new.out.splitlines()[1].startswith("qlora:") and "--method" not in new.err
    assert main(["estimate", "--model", model, "--method", "qlora"]) in (0, 1)
    old = capsys.readouterr()
    assert old.out == new.out
    notice = "--method qlora is now --adapter qlora (the objective stays supervised)."
    assert old.err.splitlines()[0] == notice
    assert main(["estimate", "--model", model, "--method", "supervised"]) in (0, 1)
    assert capsys.readouterr().out.splitlines()[1].startswith("lora:")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (  # DPO is taken locally now: what stops this one is the missing data
            ["--backend", "local", "--method", "dpo"],
            "--data is required (or a --config that names the data).",
        ),
        (
            ["--backend", "openai", "--adapter", "lora"],
            "OpenAI chooses the adaptation itself: --adapter is not accepted.",
        ),
        (
            ["--backend", "azure", "--method", "full"],
            "Azure OpenAI chooses the adaptation itself: --adapter is not accepted.",
        ),
        (
            ["--backend", "local", "--method", "lora", "--adapter", "full"],
            "--method lora means --adapter lora, but --adapter full says otherwise.",
        ),
    ],
)
def test_train_refuses_an_objective_or_adapter_the_backend_does_not_take(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--workspace", str(tmp_path / "ws"), "train", *argv, "--model", "m"]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == message
    assert not (tmp_path / "ws").exists()


@pytest.mark.parametrize(
    ("flags", "notice"),
    [
        (["--adapter", "full"], None),
        (
            ["--method", "full"],
            "--method full is now --adapter full (the objective stays supervised).",
        ),
        (["--method", "supervised", "--adapter", "full"], None),
    ],
)
def test_train_local_reads_the_adapter_in_either_spelling(
    flags: list[str], notice: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.commands.run_cli import objective_and_adapter
    from tui.commands.train_local import settings_from_args

    args = build_parser().parse_args(["train", "--backend", "local", *flags])
    assert objective_and_adapter(args, "local") == ("supervised", "full")
    assert capsys.readouterr().err == (f"{notice}\n" if notice else "")
    args.adapter = "full"
    settings = settings_from_args(args, {"method": "qlora", "lora_r": 8})  # an older --config
    assert (settings.adapter, settings.lora_r) == ("full", 8)
    args.adapter = None
    assert settings_from_args(args, {"method": "qlora"}).adapter == "qlora"


def test_hosted_train_keeps_the_method_as_the_objective(capsys: pytest.CaptureFixture[str]) -> None:
    from tui.commands.run_cli import objective_and_adapter

    args = build_parser().parse_args(["train", "--backend", "openai", "--method", "dpo"])
    assert objective_and_adapter(args, "openai") == ("dpo", None)
    args = build_parser().parse_args(["train", "--backend", "azure"])
    assert objective_and_adapter(args, "azure") == ("supervised", None)
    assert capsys.readouterr().err == ""


def test_each_command_names_the_module_that_registers_it() -> None:
    """``COMMANDS`` lets a command build only its own parser: it must match what each registers."""
    registered: dict[str, str] = {}
    for module in COMMAND_MODULES:
        subparsers = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(subparsers)
        registered.update(dict.fromkeys(subparsers.choices, module))
    assert registered == COMMANDS


@pytest.mark.parametrize(
    ("argv", "modules"),
    [
        ([], ()),
        (["--workspace", "ws"], ()),
        (["--workspace=ws"], ()),
        (["inspect", "data.jsonl"], ("tui.commands.inspect",)),
        (["--workspace", "ws", "watch", "run-1"], ("tui.commands.runs",)),
        (["--help"], None),
        (["--workspace"], None),
        (["inspekt"], None),
    ],
)
def test_a_command_builds_only_its_parser(argv: list[str], modules: tuple[str, ...] | None) -> None:
    assert modules_needed(argv) == (COMMAND_MODULES if modules is None else modules)


def test_a_misspelt_command_still_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["inspekt"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'inspekt'" in capsys.readouterr().err
