"""``LocalChat``: a local model (and LoRA adapter), or a GGUF export, answering from its own
child process.

The child (``backends.evaluate.chat_process``) is started on the first turn,
loads the model once and keeps it for the turns after. Its stdout is read by
a thread into a queue, so ``stream`` can wait for the next line and still
notice ``cancel`` at once (it then tells the child to stop that turn and
keeps what came). A model that cannot be loaded ends every turn with the
child's message (e.g. the ``[local]`` extra missing, a model not in the
offline cache). ``close()`` asks the child to stop, then ends it.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from backends.evaluate.chat import (
    DEFAULT_CHAT_MAX_TOKENS,
    ChatEvent,
    ChatModel,
    Clock,
    Delta,
    Reply,
    Status,
)
from backends.evaluate.prompts import Message
from backends.processes import messages_from, start_child, stderr_tail, tell, write_message

CHILD_MODULE = "backends.evaluate.chat_process"
POLL_S = 0.05
_GONE = object()


class LocalChat(ChatModel):
    def __init__(
        self,
        model: str,
        *,
        adapter: str | None = None,
        max_new_tokens: int = DEFAULT_CHAT_MAX_TOKENS,
        device: str | None = None,
        gguf: str | None = None,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.model = model
        self.adapter = adapter
        self.gguf = gguf
        self.label = f"{model} (local)" + (f" + adapter {adapter}" if adapter else "")
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.clock = clock
        self._child: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[Any] = queue.Queue()
        self._failed: str | None = None
        self._turn = 0
        self._lock = threading.Lock()

    @classmethod
    def from_runner(cls, runner: Any, *, clock: Clock = time.perf_counter) -> LocalChat:
        """The same model and adapter as an evaluation ``LocalRunner`` (its adapter's base resolved)."""
        return cls(runner.model, adapter=runner.adapter, device=runner.device, clock=clock)

    @classmethod
    def from_gguf(
        cls,
        gguf: str,
        *,
        tokenizer: str,
        label: str,
        max_new_tokens: int = DEFAULT_CHAT_MAX_TOKENS,
        clock: Clock = time.perf_counter,
    ) -> LocalChat:
        """A GGUF file on the CPU: llama.cpp (``llama-cpp-python``) when installed, else
        transformers' GGUF loader; ``tokenizer`` (the trained model's) renders the chat template."""
        from backends.local.converter import runtime_available

        chat = cls(tokenizer, max_new_tokens=max_new_tokens, device="cpu", gguf=gguf, clock=clock)
        runtime = "llama.cpp" if runtime_available() else "transformers' GGUF loader"
        chat.label = f"{label} (GGUF, {runtime}, CPU)"
        return chat

    # --- the child ------------------------------------------------------------
    def _start(self) -> None:
        from backends.local.launch import worker_env

        config = {
            "model": self.model,
            "adapter": self.adapter,
            "max_new_tokens": self.max_new_tokens,
            "device": self.device,
            "gguf": self.gguf,
        }
        self._child = start_child(
            CHILD_MODULE, orjson.dumps(config).decode(), requests=True, env=worker_env()
        )
        self._lines = queue.Queue()
        reader = threading.Thread(target=self._read, args=(self._child, self._lines), daemon=True)
        reader.start()

    @staticmethod
    def _read(child: subprocess.Popen[bytes], lines: queue.Queue[Any]) -> None:
        for message in messages_from(child):
            lines.put(message)
        last = stderr_tail(child)
        code = child.wait()
        lines.put((_GONE, last or f"exit status {code}"))

    def _tell(self, message: dict[str, Any]) -> None:
        child = self._child
        if child is None:
            return
        with self._lock:
            tell(child, message)

    def _next(self, lines: queue.Queue[Any], cancel: threading.Event, turn: int | None) -> Any:
        """The child's next line; tells it to stop ``turn`` once ``cancel`` is set."""
        told = False
        while True:
            if cancel.is_set() and not told and turn is not None:
                self._tell({"type": "cancel", "id": turn})
                told = True
            try:
                return lines.get(timeout=POLL_S)
            except queue.Empty:
                if cancel.is_set() and turn is None:
                    return None

    def _ready(self, cancel: threading.Event) -> Iterator[ChatEvent]:
        """Start and load the child if it is not; sets ``_failed`` when it cannot."""
        if self._child is not None and self._child.poll() is None:
            return
        if self._failed is not None:
            return
        yield Status(f"Loading {self.label}…")
        self._start()
        while True:
            line = self._next(self._lines, cancel, None)
            if line is None:  # cancelled while loading: stop the child, load again next time
                self.close()
                return
            if isinstance(line, tuple):
                self._failed = f"the chat process stopped while loading ({line[1]})"
                return
            if line.get("type") == "ready":
                yield Status(f"{self.label} loaded; waiting for the first token…")
                return
            if line.get("type") == "failed":
                self._failed = str(line.get("message"))
                return

    def stream(
        self, messages: Sequence[Message], *, cancel: threading.Event | None = None
    ) -> Iterator[ChatEvent]:
        cancel = cancel or threading.Event()
        yield from self._ready(cancel)
        if self._failed is not None:
            yield Reply(error=f"{self.label}: {self._failed}")
            return
        if cancel.is_set() or self._child is None:
            yield Reply(cancelled=True)
            return
        self._turn += 1
        turn = self._turn
        started = self.clock()
        first: float | None = None
        parts: list[str] = []
        lines = self._lines
        self._tell({"type": "generate", "id": turn, "messages": list(messages)})
        while True:
            line = self._next(lines, cancel, turn)
            if isinstance(line, tuple):
                self._child = None
                yield Reply(
                    "".join(parts),
                    total_s=self.clock() - started,
                    cancelled=cancel.is_set(),
                    error=None
                    if cancel.is_set()
                    else f"{self.label}: the chat process stopped ({line[1]})",
                )
                return
            if line.get("id") != turn:
                continue  # the end of a turn cancelled earlier
            kind = line.get("type")
            if kind == "delta":
                text = str(line.get("text", ""))
                if first is None:
                    first = self.clock() - started
                parts.append(text)
                yield Delta(text)
            elif kind == "done":
                yield Reply(
                    "".join(parts),
                    prompt_tokens=line.get("prompt_tokens"),
                    completion_tokens=line.get("completion_tokens"),
                    first_token_s=first,
                    total_s=self.clock() - started,
                    cancelled=bool(line.get("cancelled")) or cancel.is_set(),
                )
                return
            elif kind == "error":
                yield Reply(
                    "".join(parts),
                    total_s=self.clock() - started,
                    error=f"{self.label}: {line.get('message')}",
                )
                return

    def close(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        if child.poll() is None:
            with self._lock, contextlib.suppress(OSError, ValueError):
                assert child.stdin is not None
                write_message(child.stdin, {"type": "shutdown"})
                child.stdin.close()
            try:
                child.wait(timeout=3)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
