"""``LocalChat`` against a tiny model built in a tmp folder: the child process loads it once and streams."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.evaluate.chat import Delta, Reply, Status, collect
from backends.evaluate.local_chat import LocalChat
from tests.support.helpers import PATIENCE_S

pytest.importorskip("transformers", reason="the [local] extra is not installed")

ASK = [
    {"role": "system", "content": "you are helpful ."},
    {"role": "user", "content": "what colour is the sky ?"},
]


@pytest.fixture
def local_chat(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalChat]:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    ticks = iter(range(10_000))
    chat = LocalChat(str(tiny_model), max_new_tokens=24, device="cpu", clock=lambda: next(ticks))
    yield chat
    chat.close()


def test_streams_deltas_then_usage_and_keeps_the_model_loaded(local_chat: LocalChat) -> None:
    events = list(local_chat.stream(ASK))
    assert isinstance(events[0], Status) and "Loading" in events[0].text
    deltas = [e.text for e in events if isinstance(e, Delta)]
    reply = events[-1]
    assert isinstance(reply, Reply) and reply.ok, reply.error
    assert deltas and "".join(deltas) == reply.text
    assert reply.prompt_tokens and reply.prompt_tokens > 5
    assert reply.completion_tokens and 0 < reply.completion_tokens <= 24
    assert reply.first_token_s is not None and reply.total_s is not None
    child = local_chat._child
    assert child is not None and child.poll() is None
    # A second turn: same child (loaded once), same greedy answer for the same prompt.
    again = list(local_chat.stream(ASK))
    assert not any(isinstance(e, Status) for e in again)
    assert again[-1].text == reply.text and local_chat._child is child
    local_chat.close()
    assert child.poll() is not None


def test_cancel_stops_the_turn_and_the_next_one_works(local_chat: LocalChat) -> None:
    local_chat.max_new_tokens = 24
    collect(local_chat.stream(ASK))  # loaded
    cancel = threading.Event()
    cancel.set()
    reply = collect(local_chat.stream(ASK, cancel=cancel))
    assert reply.cancelled and reply.ok
    assert (reply.completion_tokens or 0) <= 1
    after = collect(local_chat.stream(ASK))
    assert after.ok and not after.cancelled and after.completion_tokens


def test_a_missing_model_is_a_message(tmp_path: Path) -> None:
    chat = LocalChat(str(tmp_path / "nowhere"), device="cpu")
    try:
        reply = collect(chat.stream(ASK))
    finally:
        chat.close()
    assert reply.error is not None
    assert reply.error.startswith(f"{tmp_path / 'nowhere'} (local): ")
    assert "Traceback" not in reply.error


def test_the_child_ends_when_the_parent_goes_away(local_chat: LocalChat) -> None:
    assert collect(local_chat.stream(ASK)).ok
    child = local_chat._child
    assert child is not None and child.stdin is not None
    child.stdin.close()  # what the child sees when the parent dies
    assert child.wait(timeout=PATIENCE_S) == 0
