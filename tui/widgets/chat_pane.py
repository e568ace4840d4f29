"""One model's side of the try-it chat: its title (on the border), the conversation, and the answer as it streams.

The pane keeps the transcript (every turn, with the tokens and latency under
each answer, or why it failed) and the model's history: the user and
assistant turns the next prompt is sent with. A failed turn stays on screen
but leaves the history; a stopped turn keeps what arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static


@dataclass
class Turn:
    prompt: str
    answer: str = ""
    note: str = ""
    """Tokens and latency, ``stopped``, or what the model is doing."""
    error: str = ""
    done: bool = False


@dataclass
class Transcript:
    turns: list[Turn] = field(default_factory=list)

    def history(self) -> list[dict[str, str]]:
        """The messages the model has seen and said (failed turns left out)."""
        messages: list[dict[str, str]] = []
        for turn in self.turns:
            if turn.done and not turn.error and turn.answer:
                messages.append({"role": "user", "content": turn.prompt})
                messages.append({"role": "assistant", "content": turn.answer})
        return messages


class ChatPane(Vertical):
    """A model's conversation. ``problem`` replaces it when the model cannot be used."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "chat-pane--user",
        "chat-pane--note",
        "chat-pane--error",
    }

    def __init__(self, side: str, **kwargs: Any) -> None:
        super().__init__(classes="chat-pane", **kwargs)
        self.side = side
        self.transcript = Transcript()
        self.turn_id = 0
        """Bumped by every new or stopped turn: events of an older turn are ignored."""
        self.problem = ""
        self.problem_is_error = False
        self.ready = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="chat-log"):
            yield Static("", classes="chat-text")

    # --- state ---------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return bool(self.transcript.turns) and not self.transcript.turns[-1].done

    def set_model(self, title: str, problem: str = "", *, error: bool = True) -> None:
        """``problem``: why this pane has no model; ``error=False`` for a plain notice (none chosen)."""
        self.border_title = title
        self.problem = problem
        self.problem_is_error = error
        self.ready = not problem
        self.set_class(bool(problem) and error, "-unavailable")
        self.redraw()

    def restore(self, history: list[dict[str, str]]) -> None:
        """Show an earlier conversation (user/assistant pairs) again."""
        turns = []
        for question, answer in zip(history[::2], history[1::2], strict=False):
            turns.append(Turn(question["content"], answer["content"], done=True))
        self.transcript = Transcript(turns)
        self.redraw()

    def begin(self, prompt: str) -> int:
        self.turn_id += 1
        self.transcript.turns.append(Turn(prompt, note="waiting for the first token…"))
        self.redraw()
        return self.turn_id

    def status(self, text: str) -> None:
        if self.busy:
            self.transcript.turns[-1].note = text
            self.redraw()

    def add(self, text: str) -> None:
        if self.busy:
            turn = self.transcript.turns[-1]
            turn.answer += text
            turn.note = "…"
            self.redraw()

    def finish(self, note: str, error: str = "", text: str | None = None) -> None:
        if not self.busy:
            return
        turn = self.transcript.turns[-1]
        if text is not None and not error:
            turn.answer = text
        turn.note, turn.error, turn.done = note, error, True
        self.redraw()

    def stop(self) -> None:
        """Stop showing the turn in flight (what arrived is kept); later events are ignored."""
        if self.busy:
            self.turn_id += 1
            self.finish("stopped")

    def clear(self) -> None:
        self.stop()
        self.turn_id += 1
        self.transcript = Transcript()
        self.redraw()

    # --- drawing -------------------------------------------------------------
    def render_transcript(self) -> Text:
        style = self.get_component_rich_style
        text = Text()
        if self.problem:
            kind = "chat-pane--error" if self.problem_is_error else "chat-pane--note"
            text.append(self.problem, style(kind))
            return text
        if not self.transcript.turns:
            text.append("Answers appear here.", style("chat-pane--note"))
            return text
        for index, turn in enumerate(self.transcript.turns):
            if index:
                text.append("\n\n")
            text.append(f"› {turn.prompt}\n", style("chat-pane--user"))
            if turn.answer:
                text.append(turn.answer.strip() + "\n")
            if turn.error:
                text.append(f"✗ {turn.error}\n", style("chat-pane--error"))
            if turn.note:
                text.append(turn.note, style("chat-pane--note"))
        return text

    def redraw(self) -> None:
        self.query_one(".chat-text", Static).update(self.render_transcript())
        self.query_one(".chat-log", VerticalScroll).scroll_end(animate=False)
