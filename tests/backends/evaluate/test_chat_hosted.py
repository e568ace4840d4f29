"""Streaming chat against the emulator through the official openai SDK: raw chunks and ``HostedChat``."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from backends.evaluate.chat import Delta, HostedChat, Reply, collect
from backends.hosted.settings import HostedSettings
from tests.fakes.finetune_api import FineTuneAPI


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FineTuneAPI]:
    with FineTuneAPI() as emulator:
        monkeypatch.setenv("OPENAI_API_KEY", emulator.api_key)
        monkeypatch.setenv("OPENAI_BASE_URL", emulator.base_url)
        yield emulator


def chat(**kwargs: object) -> HostedChat:
    ticks = iter(range(1000))
    return HostedChat(
        HostedSettings.from_env("openai"), "gpt-4o-mini", clock=lambda: next(ticks), **kwargs
    )  # type: ignore[arg-type]


def test_emulator_streams_chunks_through_the_sdk(api: FineTuneAPI) -> None:
    import openai

    client = openai.OpenAI(api_key=api.api_key, base_url=api.base_url, max_retries=0)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "tell me three things"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert pieces == ["echo: ", "tell ", "me ", "three ", "things"]
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (10, 5)
    assert all(c.usage is None for c in chunks[:-1])
    assert api.chat_calls[-1]["stream"] is True
    # Without include_usage: no usage chunk at all.
    plain = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert all(c.usage is None and c.choices for c in plain)


def test_hosted_chat_streams_deltas_then_the_reply(api: FineTuneAPI) -> None:
    events = list(chat().stream([{"role": "user", "content": "hello there"}]))
    deltas = [e.text for e in events if isinstance(e, Delta)]
    assert deltas == ["echo: ", "hello ", "there"]
    reply = events[-1]
    assert isinstance(reply, Reply) and reply.ok and not reply.cancelled
    assert reply.text == "echo: hello there"
    assert (reply.prompt_tokens, reply.completion_tokens) == (8, 3)
    # The fake clock ticks once at the start, once at the first token, once at the end.
    assert (reply.first_token_s, reply.total_s) == (1, 2)
    params = api.chat_calls[-1]
    assert params["stream_options"] == {"include_usage": True}
    assert params["max_completion_tokens"] == 512


def test_cancel_stops_the_stream_and_keeps_what_came(api: FineTuneAPI) -> None:
    api.chat_responder = lambda model, messages: " ".join(f"w{i}" for i in range(200))
    api.chat_chunk_delay_s = 0.01
    cancel = threading.Event()
    texts: list[str] = []
    reply = None
    for event in chat().stream([{"role": "user", "content": "go"}], cancel=cancel):
        if isinstance(event, Delta):
            texts.append(event.text)
            if len(texts) == 3:
                cancel.set()
        elif isinstance(event, Reply):
            reply = event
    assert reply is not None and reply.cancelled and reply.ok
    assert reply.text == "w0 w1 w2 "
    assert len(texts) == 3


def test_errors_name_the_model_and_provider_never_the_key(api: FineTuneAPI) -> None:
    bad_key = "sk-wrong-key-abcdefghijklmnop1234"
    reply = collect(chat(secret=bad_key).stream([{"role": "user", "content": "hi"}]))
    assert reply.error is not None
    assert reply.error.startswith("gpt-4o-mini (OpenAI): OpenAI rejected the API key (401).")
    assert bad_key not in reply.error and "sk-wrong" not in reply.error
    api.inject(
        404,
        path_contains="/chat/completions",
        message="The model 'nope' does not exist",
        code="model_not_found",
    )
    reply = collect(chat().stream([{"role": "user", "content": "hi"}]))
    assert (
        reply.error is not None and "404" in reply.error and "gpt-4o-mini (OpenAI)" in reply.error
    )


def test_network_down_is_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    reply = collect(chat().stream([{"role": "user", "content": "hi"}]))
    assert reply.error is not None and reply.error.startswith(
        "gpt-4o-mini (OpenAI): Cannot reach OpenAI"
    )
