"""Pushing a run to the Hub, against a local emulator of the Hub's upload endpoints."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.local.push import redact
from backends.runs import RunFolder, RunStore
from backends.runs.values import RunState
from tests.fakes.hub_emulator import HubEmulator
from tests.support.tiny_model import tiny_lora_spec
from tui.cli import main

TOKEN = "hf_TestTokenThatMustNeverLeak1234"


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HubEmulator]:
    """The emulator as ``HF_ENDPOINT``, ``HF_TOKEN`` set, offline mode lifted for this test only."""
    from huggingface_hub import constants

    emulator = HubEmulator(token=TOKEN).start()
    monkeypatch.setenv("HF_ENDPOINT", emulator.url)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-stored-token"))
    yield emulator
    emulator.stop()


@pytest.fixture
def done_run(store: RunStore, tmp_path: Path) -> RunFolder:
    """A succeeded local LoRA run with an adapter (files only: pushing needs no torch)."""
    folder = store.create(tiny_lora_spec(tmp_path / "model", tmp_path / "train.jsonl"))  # type: ignore[arg-type]
    folder.update_status(state=RunState.SUCCEEDED)
    adapter = folder.output_dir / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"r": 4}')
    (adapter / "adapter_model.safetensors").write_bytes(bytes(range(256)) * 40)
    return folder


def _push(folder: RunFolder, *extra: str) -> int:
    workspace = str(folder.path.parents[1])
    return main(["--workspace", workspace, "push", folder.run_id, *extra])


def _everything_written(folder: RunFolder) -> str:
    return "".join(p.read_text(errors="replace") for p in folder.path.rglob("*") if p.is_file())


def test_push_uploads_the_adapter_to_the_hub(
    hub: HubEmulator, done_run: RunFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _push(done_run, "--repo", "alice/tiny-lora", "--private") == 0
    out = capsys.readouterr()
    assert out.out.strip() == f"{hub.url}/alice/tiny-lora"
    adapter = done_run.output_dir / "adapter"
    assert hub.repos["alice/tiny-lora"] == {p.name: p.read_bytes() for p in adapter.iterdir()}
    assert hub.private["alice/tiny-lora"] is True
    assert all(h.get("authorization") == f"Bearer {TOKEN}" for _, _, h in hub.requests)
    assert "Pushed" in done_run.log_txt.read_text()
    assert TOKEN not in _everything_written(done_run) and TOKEN not in out.err + out.out

    merged = done_run.output_dir / "merged"
    assert _push(done_run, "--repo", "alice/tiny-lora", "--merged") == 2  # nothing merged yet
    assert f"finetune-tui merge {done_run.run_id}" in capsys.readouterr().err
    merged.mkdir()
    (merged / "config.json").write_text("{}")
    (merged / "model.safetensors").write_bytes(b"\0" * 512)
    assert _push(done_run, "--repo", "alice/tiny-lora", "--merged") == 0  # the repo exists: fine
    assert hub.repos["alice/tiny-lora"]["model.safetensors"] == b"\0" * 512


def test_a_refused_token_says_so_without_showing_it(
    hub: HubEmulator,
    done_run: RunFolder,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "hf_WrongTokenAlsoSecret987654"
    monkeypatch.setenv("HF_TOKEN", wrong)
    assert _push(done_run, "--repo", "alice/tiny-lora") == 1
    message = capsys.readouterr().err
    assert "401" in message and "alice/tiny-lora" in message and hub.url in message
    assert wrong not in message and TOKEN not in message and "Traceback" not in message
    assert hub.repos == {}
    assert wrong not in _everything_written(done_run)


def test_without_a_token_it_says_how_to_provide_one(
    hub: HubEmulator,
    done_run: RunFolder,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HF_TOKEN")
    assert _push(done_run, "--repo", "alice/tiny-lora") == 2
    message = capsys.readouterr().err
    assert "HF_TOKEN" in message and "hf auth login" in message
    assert hub.requests == []


def test_an_unreachable_hub_names_the_repo_and_endpoint(
    hub: HubEmulator,
    done_run: RunFolder,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("HF_ENDPOINT", closed)
    assert _push(done_run, "--repo", "alice/tiny-lora") == 1
    message = capsys.readouterr().err
    assert "alice/tiny-lora" in message and closed in message and "cannot be reached" in message


@pytest.mark.parametrize("repo", ["tiny-lora", "alice/", "alice/a b", "../etc/passwd", "a/b/c"])
def test_a_bad_repo_name_is_refused_before_anything_is_sent(
    hub: HubEmulator, done_run: RunFolder, capsys: pytest.CaptureFixture[str], repo: str
) -> None:
    assert _push(done_run, "--repo", repo) == 2
    assert "USER/NAME" in capsys.readouterr().err and hub.requests == []


def test_offline_mode_and_hosted_runs_are_refused(
    done_run: RunFolder,
    store: RunStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backends.runs.values import RunSpec

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert _push(done_run, "--repo", "alice/tiny-lora") == 2
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err
    hosted = store.create(RunSpec(backend="openai", model="gpt-4o-mini", dataset="d.jsonl"))
    hosted.update_status(state=RunState.SUCCEEDED)
    assert _push(hosted, "--repo", "alice/tiny-lora") == 2
    assert "with the provider" in capsys.readouterr().err


def test_redact_hides_the_token_and_token_shaped_text() -> None:
    assert redact(f"bad {TOKEN} and hf_abcdefghijkl", TOKEN) == "bad hf_*** and hf_***"


async def test_push_from_the_monitor(make_app, hub: HubEmulator, done_run: RunFolder) -> None:
    from textual.widgets import Input

    from tui.screens.run_output import PushScreen

    app = make_app(done_run.path.parents[1], watch=done_run, gpu_probe=list)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()  # looking for the token
        await pilot.pause()
        screen = app.screen
        assert screen.check_action("push_output", ()) is True
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, PushScreen)
        app.screen.query_one("#push-repo", Input).value = "alice/from-the-ui"
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is screen
        assert set(hub.repos["alice/from-the-ui"]) == {
            "adapter_config.json",
            "adapter_model.safetensors",
        }
        assert hub.private["alice/from-the-ui"] is True  # the dialog's default
        messages = "\n".join(n.message for n in app._notifications)
        assert f"{hub.url}/alice/from-the-ui" in messages and TOKEN not in messages
