"""The local try-it chat's child process: load a model once, answer turn after turn.

    python -m backends.evaluate.chat_process '{"model": ..., "adapter": ..., "max_new_tokens": N}'
    python -m backends.evaluate.chat_process '{"gguf": FILE, "model": TOKENIZER, ...}'

Generation is CPU/GPU-bound, so it never runs in the UI's process: the parent
(``backends.evaluate.local_chat``) talks to this process in JSON lines.

stdin (one object a line)::

    {"type": "generate", "id": 1, "messages": [{"role": "user", "content": "hi"}]}
    {"type": "cancel", "id": 1}        stop that turn (what was generated is kept)
    {"type": "shutdown"}               or end of input: the parent went away

stdout (one object a line)::

    {"type": "ready", "label": "..."}                   the model is loaded
    {"type": "failed", "message": "..."}                it could not be loaded; the process ends
    {"type": "delta", "id": 1, "text": "..."}           text as it is generated
    {"type": "done", "id": 1, "prompt_tokens": 12, "completion_tokens": 30, "cancelled": false}
    {"type": "error", "id": 1, "message": "..."}        that turn failed; the next may work

Decoding is greedy (deterministic). Text is streamed by a ``TextStreamer``
whose finished pieces are written as they come (the generation runs in this
process's main thread; a reader thread takes the parent's messages).

A GGUF file (a run's GGUF export) runs on the CPU in llama.cpp
(``llama-cpp-python``, the optional ``export`` extra) token by token, else in
transformers' GGUF loader; its prompt is rendered by the trained model's
tokenizer (``model``), the chat template the export was checked against.
"""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

from backends.processes import exit_now, messages_from_parent, send_to_parent

GGUF_CONTEXT = 4096
"""llama.cpp's context for a GGUF chat: prompt and answer together (CPU memory stays small)."""


class Inbox:
    """The parent's messages, read by a thread; cancels are noted at once."""

    def __init__(self) -> None:
        self.requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.cancelled: set[int] = set()
        self.gone = threading.Event()
        """The parent asked to shut down or closed our input."""
        threading.Thread(target=self._read, name="chat-inbox", daemon=True).start()

    def _read(self) -> None:
        for message in messages_from_parent():
            kind = message.get("type")
            if kind == "cancel":
                self.cancelled.add(int(message.get("id", -1)))
            elif kind == "generate":
                self.requests.put(message)
            elif kind == "shutdown":
                break
        self.gone.set()
        self.requests.put(None)

    def stopped(self, turn: int) -> bool:
        return self.gone.is_set() or turn in self.cancelled


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__


def generate(
    tokenizer: Any, model: Any, max_new_tokens: int, request: dict[str, Any], inbox: Inbox
) -> None:
    """One turn through a transformers model, streamed by a ``TextStreamer``."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList, TextStreamer

    from backends.evaluate.runners import render_chat

    turn = int(request.get("id", 0))

    class Deltas(TextStreamer):
        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text:
                send_to_parent({"type": "delta", "id": turn, "text": text})

    class Cancelled(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
            return inbox.stopped(turn)

    prompt = render_chat(tokenizer, request.get("messages") or [])
    encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
    width = int(encoded["input_ids"].shape[1])
    with torch.no_grad():
        output = model.generate(
            **encoded,
            do_sample=False,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            streamer=Deltas(tokenizer, skip_prompt=True, skip_special_tokens=True),
            stopping_criteria=StoppingCriteriaList([Cancelled()]),
        )
    new = output[0, width:].tolist()
    eos = tokenizer.eos_token_id
    if eos is not None and eos in new:
        new = new[: new.index(eos) + 1]
    send_to_parent(
        {
            "type": "done",
            "id": turn,
            "prompt_tokens": width,
            "completion_tokens": len(new),
            "cancelled": inbox.stopped(turn),
        }
    )


def generate_llama(
    llm: Any, tokenizer: Any, max_new_tokens: int, request: dict[str, Any], inbox: Inbox
) -> None:
    """One turn through llama.cpp: the prompt rendered by the trained tokenizer's chat template,
    tokenised by the GGUF's own vocabulary (as the export's check did), greedy, token by token."""
    import codecs

    from backends.evaluate.runners import render_chat
    from backends.local.export import eos_ids, llama_prompt_ids

    turn = int(request.get("id", 0))
    ids = llama_prompt_ids(llm, render_chat(tokenizer, request.get("messages") or []))
    stops = eos_ids(tokenizer) | {int(llm.token_eos())}
    text = codecs.getincrementaldecoder("utf-8")(errors="replace")
    new: list[int] = []
    llm.reset()
    if not inbox.stopped(turn):
        for token in llm.generate(
            ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True
        ):
            new.append(int(token))
            if token in stops:
                break
            piece = text.decode(llm.detokenize([token], prev_tokens=ids + new[:-1]))
            if piece:
                send_to_parent({"type": "delta", "id": turn, "text": piece})
            if len(new) >= max_new_tokens or inbox.stopped(turn):
                break
    rest = text.decode(b"", final=True)
    if rest:
        send_to_parent({"type": "delta", "id": turn, "text": rest})
    send_to_parent(
        {
            "type": "done",
            "id": turn,
            "prompt_tokens": len(ids),
            "completion_tokens": len(new),
            "cancelled": inbox.stopped(turn),
        }
    )


Answer = Callable[[dict[str, Any], Inbox], None]


def load_model(config: dict[str, Any]) -> tuple[str, Answer]:
    """The model ``config`` names (with its LoRA adapter) in transformers."""
    from backends.evaluate.runners import LocalRunner

    runner = LocalRunner(
        config["model"],
        adapter=config.get("adapter"),
        max_new_tokens=int(config.get("max_new_tokens") or 256),
        device=config.get("device"),
    )
    tokenizer, model = runner.load()
    return runner.label, partial(generate, tokenizer, model, runner.max_new_tokens)


def load_gguf(config: dict[str, Any]) -> tuple[str, Answer]:
    """A GGUF file on the CPU: llama.cpp when ``llama-cpp-python`` is installed, else
    transformers' GGUF loader; ``config["model"]`` is the trained tokenizer (its chat template)."""
    from pathlib import Path

    from transformers import AutoTokenizer

    from backends.local.converter import runtime_available
    from backends.local.models import load_gguf_model, loadable_path, resolve_model

    gguf = Path(config["gguf"])
    if not gguf.is_file():
        raise FileNotFoundError(f"the GGUF file {gguf} is not there (any more)")
    tokenizer = AutoTokenizer.from_pretrained(loadable_path(resolve_model(config["model"])))
    max_new_tokens = int(config.get("max_new_tokens") or 256)
    if runtime_available():
        from backends.local.export import open_llama

        llm = open_llama(gguf, n_ctx=GGUF_CONTEXT)
        return f"{gguf.name} (llama.cpp)", partial(generate_llama, llm, tokenizer, max_new_tokens)
    model = load_gguf_model(gguf)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return f"{gguf.name} (transformers)", partial(generate, tokenizer, model, max_new_tokens)


def main(argument: str) -> int:
    config = orjson.loads(argument)
    inbox = Inbox()
    try:
        label, answer = load_gguf(config) if config.get("gguf") else load_model(config)
    except Exception as error:  # a message for the pane, never a traceback
        send_to_parent({"type": "failed", "message": _describe(error)})
        return 1
    send_to_parent({"type": "ready", "label": label})
    while True:
        request = inbox.requests.get()
        if request is None:
            return 0
        try:
            answer(request, inbox)
        except Exception as error:
            send_to_parent({"type": "error", "id": request.get("id"), "message": _describe(error)})
        if inbox.gone.is_set():
            return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1])
    except (BrokenPipeError, KeyboardInterrupt):  # the parent went away
        code = 0
    exit_now(code)
