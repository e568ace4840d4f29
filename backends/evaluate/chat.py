"""One chat turn at a time, streamed: what the try-it chat talks to.

Every chat model (``HostedChat``, ``LocalChat``) has the same surface:
``stream(messages, cancel=...)`` yields ``Status`` (what it is doing before
the first token, e.g. loading), ``Delta`` (text as it arrives), and always
ends with exactly one ``Reply``: the whole answer, the tokens, the time to
the first token and the total time, whether it was cancelled, and an error
message when it failed. It never raises for a provider, network or model
failure: the error is in ``Reply.error``, naming the model and where it runs,
with secrets redacted. Timings come from an injectable ``clock`` (seconds).

``HostedChat`` streams through the official ``openai`` SDK
(``stream=True``, ``stream_options={"include_usage": True}``). ``LocalChat``
talks to a child process (``backends.evaluate.chat_process``) that loads the
model once and generates there, so generation never runs in the caller's
process. ``close()`` releases what a model holds (the child process).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from backends.evaluate.prompts import Message

DEFAULT_CHAT_MAX_TOKENS = 512


@dataclass(frozen=True)
class Status:
    """What the model is doing before it answers (loading, waiting)."""

    text: str


@dataclass(frozen=True)
class Delta:
    """A piece of the answer, as it arrived."""

    text: str


@dataclass
class Reply:
    """How a turn ended: the last thing ``stream`` yields."""

    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_s: float | None = None
    """Seconds from sending the request to the first piece of text (``None``: no text)."""
    total_s: float | None = None
    cancelled: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


ChatEvent = Status | Delta | Reply
Clock = Callable[[], float]


class ChatModel:
    """What the try-it chat needs of a model."""

    label: str = ""
    """Which model, where: shown above its pane and in its error messages."""

    def stream(
        self, messages: Sequence[Message], *, cancel: threading.Event | None = None
    ) -> Iterator[ChatEvent]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the model holds; safe to call twice."""


def collect(events: Iterator[ChatEvent]) -> Reply:
    """Drain ``events`` and return the final ``Reply``."""
    reply = Reply(error="The model ended without an answer.")
    for event in events:
        if isinstance(event, Reply):
            reply = event
    return reply


class HostedChat(ChatModel):
    """A chat model on OpenAI or Azure OpenAI, streamed through the official SDK."""

    def __init__(
        self,
        settings: Any,
        model: str,
        *,
        secret: str | None = None,
        max_tokens: int | None = DEFAULT_CHAT_MAX_TOKENS,
        temperature: float | None = None,
        client: Any = None,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.settings = settings
        self.model = model
        self.label = f"{model} ({settings.label})"
        self._secret = secret
        self.max_tokens = max_tokens
        self.temperature = temperature
        self._client = client
        self.clock = clock

    @classmethod
    def from_runner(cls, runner: Any, *, clock: Clock = time.perf_counter) -> HostedChat:
        """The same model, key and settings as an evaluation ``HostedRunner``."""
        return cls(runner.settings, runner.model, secret=runner._secret, clock=clock)

    def _explain(self, error: BaseException) -> str:
        from backends.hosted.errors import explain

        explained = explain(
            error,
            provider=self.settings.label,
            secrets=(self._secret, self.settings.resolve_secret(self._secret)),
        )
        return f"{self.label}: {explained}"

    def stream(
        self, messages: Sequence[Message], *, cancel: threading.Event | None = None
    ) -> Iterator[ChatEvent]:
        cancel = cancel or threading.Event()
        params: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.max_tokens is not None:
            params["max_completion_tokens"] = self.max_tokens
        if self.temperature is not None:
            params["temperature"] = self.temperature
        started = self.clock()
        first: float | None = None
        parts: list[str] = []
        usage: Any = None
        try:
            if self._client is None:
                self._client = self.settings.make_client(self._secret, max_retries=0)
            response = self._client.chat.completions.create(**params)
            try:
                for chunk in response:
                    if cancel.is_set():
                        break
                    usage = getattr(chunk, "usage", None) or usage
                    for choice in getattr(chunk, "choices", None) or []:
                        text = getattr(choice.delta, "content", None)
                        if text:
                            if first is None:
                                first = self.clock() - started
                            parts.append(text)
                            yield Delta(text)
            finally:
                response.close()
        except Exception as error:  # every failure is a message in the pane, never a traceback
            yield Reply(
                "".join(parts),
                first_token_s=first,
                total_s=self.clock() - started,
                cancelled=cancel.is_set(),
                error=None if cancel.is_set() else self._explain(error),
            )
            return
        yield Reply(
            "".join(parts),
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            first_token_s=first,
            total_s=self.clock() - started,
            cancelled=cancel.is_set(),
        )
