"""Counting the tokens of one OpenAI chat example the way OpenAI does.

Token counting follows OpenAI's chat accounting as the Cookbook writes it:
3 tokens per message, the tokens of every string field (role, content, name,
tool_call_id), 1 more per name, 3 to prime the reply. Tool definitions and
tool calls have no published formula: they are counted as the tokens of
their JSON text and the report says the figure is approximate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from backends.data.findings import Finding
from backends.data.tokenizer import TokenCounter

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_REPLY_PRIMING = 3


@dataclass
class ChatFigures:
    total: int
    assistant: int
    messages: int
    images: int = 0
    approximate: bool = False
    """Tool definitions or tool calls were counted (no published formula)."""


SIMPLE_ROLES = ("system", "user", "assistant")


def quick_chat(
    messages: Any, line: int, counter: TokenCounter, out: list[Finding]
) -> ChatFigures | None:
    """Check and count an example made only of plain ``{"role", "content"}`` messages, in one pass.

    Most lines of most files are like this; anything else (or anything wrong)
    returns ``None`` without findings and takes the full path
    (``chat_checks.check_messages`` + ``count_chat``), which gives the same figures.
    """
    if type(messages) is not list or not messages:
        return None
    cache = counter.cache
    count = counter.raw
    role_tokens = counter.role_tokens
    total = TOKENS_REPLY_PRIMING
    assistant = 0
    seen_system = seen_user = seen_assistant = False
    for message in messages:
        if type(message) is not dict or len(message) != 2:
            return None
        role = message.get("role")
        content = message.get("content")
        if type(content) is not str or not content or content.isspace() or role not in SIMPLE_ROLES:
            return None
        if role == "system":  # what repeats line after line; other contents are mostly unique
            n = cache.get(content)
            if n is None:
                try:
                    n = count(content)
                except UnicodeEncodeError:
                    return None
                if len(content) <= counter.CACHE_MAX_CHARS:
                    if len(cache) >= counter.CACHE_MAX_ENTRIES:
                        cache.clear()
                    cache[content] = n
        else:
            try:
                n = count(content)
            except UnicodeEncodeError:
                return None
        total += TOKENS_PER_MESSAGE + role_tokens[role] + n
        if role == "assistant":
            assistant += n
            seen_assistant = True
        elif role == "user":
            seen_user = True
        else:
            seen_system = True
    if not (seen_user and seen_assistant):
        return None
    if not seen_system:
        out.append(
            Finding("missing_system_message", line, "No system message in the example", "messages")
        )
    return ChatFigures(total, assistant, len(messages))


def count_chat(
    messages: list[dict[str, Any]],
    count: Callable[[str], int],
    tools: Any = None,
    functions: Any = None,
) -> ChatFigures:
    """Token figures of a valid messages list (see the module docstring)."""
    total = TOKENS_REPLY_PRIMING
    assistant = 0
    images = 0
    approximate = False
    for message in messages:
        n = TOKENS_PER_MESSAGE + count(message["role"])
        content = message.get("content")
        if isinstance(content, str):
            body = count(content)
        elif content:
            body = 0
            for part in content:
                if part.get("type") == "text":
                    body += count(part["text"])
                else:
                    images += 1
        else:
            body = 0
        name = message.get("name")
        if isinstance(name, str):
            n += count(name) + TOKENS_PER_NAME
        call_id = message.get("tool_call_id")
        if isinstance(call_id, str):
            n += count(call_id)
        calls = message.get("tool_calls") or (
            [message["function_call"]] if message.get("function_call") else []
        )
        for call in calls:
            function = call.get("function", call)
            body += count(function.get("name", "")) + count(function.get("arguments", "") or "")
            approximate = True
        total += n + body
        if message["role"] == "assistant" and message.get("weight", 1) != 0:
            assistant += body
    for definitions in (tools, functions):
        if definitions:
            total += count(orjson.dumps(definitions).decode())
            approximate = True
    return ChatFigures(total, assistant, len(messages), images, approximate)
