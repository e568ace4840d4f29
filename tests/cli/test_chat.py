"""``finetune-tui chat``: --prompt prints both answers; without it the app opens on Try it."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.hosted.settings import HostedSettings
from backends.runs import RunStore
from backends.runs.values import RunSpec, RunState
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.tryit import TRY_IT, TUNED, wait_for_workers
from tui.cli import main
from tui.screens.evaluate import TryItScreen
from tui.state import ChatChoice, EvalChoice
from tui.widgets.chat_pane import ChatPane


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_prompt_prints_both_answers_for_a_run_id(
    stage_emulator: FineTuneAPI, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = RunStore(workdir / "ws" / "runs")
    connection = HostedSettings(base_url=stage_emulator.base_url).to_dict()
    folder = store.create(
        RunSpec(backend="openai", model="gpt-4o-mini", dataset="train.jsonl", settings={"connection": connection}),
        status={"state": RunState.SUCCEEDED, "fine_tuned_model": TUNED},
    )  # fmt: skip
    code, out, err = run_cli(
        capsys,
        "--workspace", str(workdir / "ws"),
        "chat", "--model", "gpt-4o-mini", "--tuned", folder.run_id,
        "--system", "Be brief.", "--prompt", "Can you fit mudguards?",
    )  # fmt: skip
    assert code == 0, err
    assert (
        "── base: gpt-4o-mini (OpenAI) ──\nYes, fitting mudguards is £15 plus the mudguards.\n"
        in out
    )
    assert (
        f"── tuned: {TUNED} (OpenAI) ──\nYes, fitting mudguards is £15 plus the mudguards. Tell"
        in out
    )
    assert out.count("prompt + ") == 2 and "first token" in out
    assert [c["messages"][0] for c in stage_emulator.chat_calls] == [
        {"role": "system", "content": "Be brief."}
    ] * 2
    assert stage_emulator.api_key not in out + err


def test_prompt_without_tuned_and_errors(
    stage_emulator: FineTuneAPI, workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    code, out, err = run_cli(capsys, "chat", "--model", "gpt-4o-mini", "--prompt", "hi")
    assert code == 0, err
    assert "── tuned ──\nNo tuned model chosen" in out
    stage_emulator.inject(
        404, path_contains="/chat/completions", message="The model 'nope' does not exist"
    )
    code, out, err = run_cli(capsys, "chat", "--model", "ft:nope", "--prompt", "hi")
    assert code == 1
    assert "── base: ft:nope (OpenAI) ──\nError: ft:nope (OpenAI): OpenAI does not know" in out
    monkeypatch.setenv("OPENAI_API_KEY", "sk-nothing-like-the-real-one-000000")
    code, out, err = run_cli(capsys, "chat", "--model", "gpt-4o-mini", "--prompt", "hi")
    assert code == 1
    assert "Error: gpt-4o-mini (OpenAI): OpenAI rejected the API key (401)." in out
    assert "sk-nothing" not in out
    code, out, err = run_cli(capsys, "chat", "--model", "gpt-4o-mini", "--prompt", " ")
    assert code == 2 and "--prompt is empty" in err


async def test_the_app_opens_on_try_it(make_app, workdir, stage_emulator) -> None:
    app = make_app(
        start=TRY_IT,
        eval_choice=EvalChoice(model="gpt-4o-mini", tuned=TUNED),
        chat_choice=ChatChoice(system="Answer in French."),
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, TryItScreen)
        await wait_for_workers(pilot, "tryit-models")
        assert app.screen.query_one("#tryit-system").value == "Answer in French."
        assert (
            app.screen.query_one("#pane-tuned", ChatPane).border_title == f"tuned: {TUNED} (OpenAI)"
        )


def test_export_needs_a_local_run_with_that_gguf_export(
    stage_emulator: FineTuneAPI, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        capsys, "chat", "--model", "gpt-4o-mini", "--export", "gguf-f16", "--prompt", "hi"
    )
    assert code == 2 and "--export gguf-f16 needs --tuned RUN" in err
    store = RunStore(workdir / "ws" / "runs")
    hosted = store.create(
        RunSpec(backend="openai", model="gpt-4o-mini", dataset="train.jsonl"),
        status={"state": RunState.SUCCEEDED, "fine_tuned_model": TUNED},
    )
    ask = ["--workspace", str(workdir / "ws"), "chat", "--model", "gpt-4o-mini", "--prompt", "hi"]
    code, out, err = run_cli(capsys, *ask, "--tuned", hosted.run_id, "--export", "gguf-f16")
    assert code == 1, err
    assert f"Run {hosted.run_id} was trained on openai: it has no GGUF export here." in out
    assert "── base: gpt-4o-mini (OpenAI) ──\n" in out  # the base model still answers
    local = store.create(
        RunSpec(backend="local", model=str(workdir / "tiny-model"), dataset="train.jsonl"),
        status={"state": RunState.SUCCEEDED},
    )
    code, out, err = run_cli(capsys, *ask, "--tuned", local.run_id, "--export", "gguf-f16")
    assert code == 1 and "Traceback" not in out + err
    assert (
        f"Run {local.run_id} has no GGUF export 'gguf-f16': it has no GGUF export "
        f"(finetune-tui export {local.run_id} --to gguf makes one)." in out
    )
