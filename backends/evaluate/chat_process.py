"""The local try-it chat's child process: load a model once, answer turn after turn.

    python -m backends.evaluate.chat_process '{"model": ..., "adapter": ..., "max_new_tokens": N}'

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
"""

from __future__ import annotations

import queue
import sys
import threading
from typing import Any

import orjson

from backends.processes import messages_from_parent, send_to_parent


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
    tokenizer: Any, model: Any, runner: Any, request: dict[str, Any], inbox: Inbox
) -> None:
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList, TextStreamer

    turn = int(request.get("id", 0))

    class Deltas(TextStreamer):
        def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
            if text:
                send_to_parent({"type": "delta", "id": turn, "text": text})

    class Cancelled(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
            return inbox.stopped(turn)

    prompt = runner.render(tokenizer, request.get("messages") or [])
    encoded = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).to(model.device)
    width = int(encoded["input_ids"].shape[1])
    with torch.no_grad():
        output = model.generate(
            **encoded,
            do_sample=False,
            max_new_tokens=runner.max_new_tokens,
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


def main(argument: str) -> int:
    config = orjson.loads(argument)
    inbox = Inbox()
    try:
        from backends.evaluate.runners import LocalRunner

        runner = LocalRunner(
            config["model"],
            adapter=config.get("adapter"),
            max_new_tokens=int(config.get("max_new_tokens") or 256),
            device=config.get("device"),
        )
        tokenizer, model = runner.load()
    except Exception as error:  # a message for the pane, never a traceback
        send_to_parent({"type": "failed", "message": _describe(error)})
        return 1
    send_to_parent({"type": "ready", "label": runner.label})
    while True:
        request = inbox.requests.get()
        if request is None:
            return 0
        try:
            generate(tokenizer, model, runner, request, inbox)
        except Exception as error:
            send_to_parent({"type": "error", "id": request.get("id"), "message": _describe(error)})
        if inbox.gone.is_set():
            return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1]))
    except (BrokenPipeError, KeyboardInterrupt):  # the parent went away
        sys.exit(0)
