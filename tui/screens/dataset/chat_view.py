"""Rendering one training example as the conversation it is."""

from __future__ import annotations

from typing import Any

import orjson
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Label, Static

from backends.data.formats import DataFormat, detect_format, to_chat
from backends.text import printable, printable_line

MAX_CHARS = 4000
"""Longer contents are cut on screen (the file is never touched)."""


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            elif isinstance(part, dict) and part.get("type") in {
                "image_url",
                "input_image",
                "image",
            }:
                parts.append("[image]")
            else:
                parts.append(orjson.dumps(part).decode())
        return "\n".join(parts)
    return orjson.dumps(content).decode()


def _cut(text: str) -> str:
    return (
        text
        if len(text) <= MAX_CHARS
        else text[:MAX_CHARS] + f"\n… ({len(text) - MAX_CHARS:,} more characters)"
    )


def message_blocks(example: Any) -> list[tuple[str, str, str]]:
    """(role, label, text) for each turn; DPO shows both answers, other formats as chat."""
    if not isinstance(example, dict):
        return [("error", "not an object", _cut(orjson.dumps(example).decode()))]
    fmt = detect_format(example)
    if fmt is DataFormat.DPO:
        prompt = example.get("input", {})
        messages = prompt.get("messages", []) if isinstance(prompt, dict) else []
        blocks = _chat_blocks(messages)
        for key, label in (
            ("preferred_output", "preferred"),
            ("non_preferred_output", "not preferred"),
        ):
            for message in example.get(key) or []:
                if isinstance(message, dict):
                    blocks.append(
                        (
                            "assistant",
                            f"assistant · {label}",
                            _cut(_text_of(message.get("content"))),
                        )
                    )
        return blocks
    if fmt is DataFormat.UNKNOWN:
        return [
            (
                "error",
                "unknown format",
                _cut(orjson.dumps(example, option=orjson.OPT_INDENT_2).decode()),
            )
        ]
    chat = to_chat(example, fmt)
    blocks = _chat_blocks(chat.get("messages", []))
    tools = example.get("tools") or example.get("functions")
    if tools:
        names = [
            (tool.get("function", tool) or {}).get("name", "?")
            for tool in tools
            if isinstance(tool, dict)
        ]
        blocks.insert(0, ("tools", "tools offered", ", ".join(str(n) for n in names)))
    return blocks


def _chat_blocks(messages: Any) -> list[tuple[str, str, str]]:
    blocks: list[tuple[str, str, str]] = []
    if not isinstance(messages, list):
        return [("error", "messages", "not a list")]
    for message in messages:
        if not isinstance(message, dict):
            blocks.append(("error", "message", _cut(orjson.dumps(message).decode())))
            continue
        role = str(message.get("role", "?"))
        label = role
        if message.get("name"):
            label += f" ({message['name']})"
        if message.get("weight") == 0:
            label += " · weight 0, not trained on"
        text = _text_of(message.get("content"))
        for call in message.get("tool_calls") or []:
            function = call.get("function", {}) if isinstance(call, dict) else {}
            text += f"\n→ {function.get('name', '?')}({function.get('arguments', '')})"
        if isinstance(message.get("function_call"), dict):
            call = message["function_call"]
            text += f"\n→ {call.get('name', '?')}({call.get('arguments', '')})"
        blocks.append(
            (
                role if role in {"system", "user", "assistant", "tool"} else "other",
                label,
                _cut(text.strip()),
            )
        )
    return blocks


class ChatView(VerticalScroll):
    """The turns of one example, each with its role."""

    def __init__(self, example: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.example = example

    def compose(self) -> ComposeResult:
        if self.example is not None:
            yield from self._blocks(self.example)

    def show(self, example: Any, heading: str = "") -> None:
        self.example = example
        self.remove_children()
        widgets: list[Widget] = []
        if heading:
            widgets.append(Label(printable_line(heading), classes="chat-heading", markup=False))
        if example is not None:
            widgets.extend(self._blocks(example))
        self.mount_all(widgets)
        self.scroll_home(animate=False)

    def _blocks(self, example: Any) -> list[Vertical]:
        return [
            Vertical(
                Label(printable_line(label), classes=f"chat-role -{role}", markup=False),
                Static(printable(text) or "(empty)", classes="chat-text", markup=False),
                classes=f"chat-turn -{role}",
            )
            for role, label, text in message_blocks(example)
        ]
