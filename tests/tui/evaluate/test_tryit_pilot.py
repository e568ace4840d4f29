"""The Try-it step driven by keys: both panes stream from the emulator through the real openai SDK."""

from __future__ import annotations

from tests.support.helpers import until
from tests.support.tryit import TUNED, open_try_it, send, wait_for_workers
from tui.screens.evaluate import TryItScreen
from tui.widgets.chat_pane import ChatPane


def pane_text(screen, side: str) -> str:
    return screen.query_one(f"#pane-{side}", ChatPane).render_transcript().plain


async def test_send_fills_both_panes_with_tokens(make_app, workdir, stage_emulator) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_try_it(pilot)
        screen = app.screen
        assert isinstance(screen, TryItScreen)
        await send(pilot, "what is fine tuning")
        base, tuned = pane_text(screen, "base"), pane_text(screen, "tuned")
        assert "› what is fine tuning" in base and "› what is fine tuning" in tuned
        assert "I am not sure." in tuned
        assert "prompt +" in base and "completion tokens" in base and "first token 0.00 s" in base
        models = [c["model"] for c in stage_emulator.chat_calls]
        assert sorted(models) == sorted(["gpt-4o-mini", TUNED])
        assert all(c["stream"] for c in stage_emulator.chat_calls)


async def test_history_is_kept_per_pane_and_cleared(make_app, workdir, stage_emulator) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_try_it(pilot)
        screen = app.screen
        await send(pilot, "first question")
        await send(pilot, "second question")
        last = stage_emulator.chat_calls[-1]["messages"]
        assert [m["role"] for m in last] == ["system", "user", "assistant", "user"]
        assert last[0]["content"].startswith("You are Spoke")  # the data's system prompt
        assert last[1]["content"] == "first question" and last[3]["content"] == "second question"
        assert "› second question" in pane_text(screen, "tuned")
        await pilot.press("ctrl+l")
        await pilot.pause()
        assert "› first question" not in pane_text(screen, "base")
        await send(pilot, "third")
        assert [m["role"] for m in stage_emulator.chat_calls[-1]["messages"]] == ["system", "user"]


async def test_escape_stops_both_answers_and_keeps_what_came(
    make_app, workdir, stage_emulator
) -> None:
    stage_emulator.chat_responder = lambda model, messages: " ".join(f"w{i}" for i in range(400))
    stage_emulator.chat_chunk_delay_s = 0.02
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_try_it(pilot)
        screen = app.screen
        await send(pilot, "go on", wait=False)
        await until(
            pilot,
            lambda: "w3" in pane_text(screen, "base") and "w3" in pane_text(screen, "tuned"),
            "both streams under way",
        )
        await pilot.press("escape")
        await pilot.pause()
        assert not screen.busy and app.screen is screen  # stopped, still here
        for side in ("base", "tuned"):
            text = pane_text(screen, side)
            assert "w3" in text and "w399" not in text and "stopped" in text
        # The streams notice and hang up.
        await until(pilot, lambda: stage_emulator.chat_streams_dropped == 2, "both hang-ups")
        assert (
            stage_emulator.chat_streams_dropped == 2 and stage_emulator.chat_streams_finished == 0
        )
        # A stopped turn keeps what arrived in the history; the next prompt works.
        stage_emulator.chat_responder = None
        stage_emulator.chat_chunk_delay_s = 0
        await send(pilot, "again")
        assert "echo: again" in pane_text(screen, "base")
        # Esc with nothing running goes back (to the setup: no comparison yet).
        await pilot.press("escape")
        await pilot.pause()
        assert app.position.step == 0


async def test_errors_show_in_the_pane_naming_model_and_provider(
    make_app, workdir, stage_emulator
) -> None:
    stage_emulator.inject(
        404,
        path_contains="/chat/completions",
        message="The model does not exist",
        code="model_not_found",
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_try_it(pilot)
        screen = app.screen
        await send(pilot, "hello")
        texts = pane_text(screen, "base") + pane_text(screen, "tuned")
        assert "(OpenAI): OpenAI does not know this file, model or job (404)" in texts
        assert "Traceback" not in texts and stage_emulator.api_key not in texts


async def test_a_bad_key_never_shows(make_app, workdir, stage_emulator, monkeypatch) -> None:
    bad = "sk-badbadbad-0123456789abcdefghij"
    monkeypatch.setenv("OPENAI_API_KEY", bad)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_try_it(pilot)
        screen = app.screen
        await send(pilot, "hello")
        base = pane_text(screen, "base")
        assert "✗ gpt-4o-mini (OpenAI): OpenAI rejected the API key (401)." in base
        assert bad not in base and "sk-bad" not in base


async def test_no_tuned_model_says_how_and_the_base_answers(
    make_app, workdir, stage_emulator
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_try_it(pilot, tuned="")
        screen = app.screen
        assert "No tuned model chosen" in pane_text(screen, "tuned")
        assert "Evaluate › Setup" in pane_text(screen, "tuned")
        await send(pilot, "hi there")
        assert "› hi there" in pane_text(screen, "base")
        assert "completion tokens" in pane_text(screen, "base")
        assert [c["model"] for c in stage_emulator.chat_calls] == ["gpt-4o-mini"]


async def test_missing_key_is_a_pane_message(make_app, workdir) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_try_it(pilot)
        screen = app.screen
        assert "OPENAI_API_KEY" in pane_text(screen, "base")
        assert "OPENAI_API_KEY" in pane_text(screen, "tuned")


async def test_tuned_as_offers_the_runs_gguf_exports(make_app, workdir, stage_emulator) -> None:
    """A local run with a GGUF export: "Tuned as" appears and switches the tuned pane to it
    (the GGUF itself is loaded on the first prompt: tests/backends/local/test_export.py)."""
    from textual.widgets import Select

    from backends.runs import RunStore
    from backends.runs.values import RunSpec, RunState

    app = make_app()
    store = RunStore.of(app.workspace)
    spec = RunSpec(backend="local", model=str(workdir / "tiny-model"), dataset="train.jsonl")
    folder = store.create(spec, status={"state": RunState.SUCCEEDED})
    (folder.output_dir / "adapter").mkdir(parents=True)
    (folder.output_dir / "adapter" / "adapter_config.json").write_text("{}")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_try_it(pilot, tuned=folder.run_id)
        screen = app.screen
        row = screen.query_one("#tryit-export-row")
        assert not row.display  # no GGUF export yet: nothing to choose
        screen.action_back()
        await pilot.pause()
        export = folder.output_dir / "exports" / "gguf-q8_0"
        export.mkdir(parents=True)
        (export / "model-q8_0.gguf").write_bytes(b"GGUF")
        await open_try_it(pilot, tuned=folder.run_id)
        screen = app.screen
        assert screen.query_one("#tryit-export-row").display
        select = screen.query_one("#tryit-export", Select)
        assert [str(prompt) for prompt, _ in select._options] == [
            "the trained model",
            "its GGUF export gguf-q8_0 (CPU)",
        ]
        assert "adapter" in screen.query_one("#pane-tuned", ChatPane).border_title
        select.value = "gguf-q8_0"
        await pilot.pause()
        await wait_for_workers(pilot, "tryit-models")
        title = screen.query_one("#pane-tuned", ChatPane).border_title
        assert title.startswith(f"tuned: {folder.run_id} gguf-q8_0 (GGUF, ")
        assert title.endswith(", CPU)") and app.chat_choice.export == "gguf-q8_0"
        assert screen.query_one("#pane-base", ChatPane).border_title == "base: gpt-4o-mini (OpenAI)"
