"""Checking one OpenAI chat example, and counting its tokens the way OpenAI does.

The Cookbook's checks, corrected for today's format: assistant messages may
carry ``tool_calls`` (or a legacy ``function_call``) instead of content,
``tool`` messages answer a call by its id, content may be a list of parts
(text and images), ``weight`` 0/1 marks which assistant turns are trained.

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

from backends.data.findings import Finding, Severity
from backends.data.tokenizer import TokenCounter

ROLES = frozenset({"system", "user", "assistant", "tool", "function", "developer"})
MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"}
)
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_REPLY_PRIMING = 3


@dataclass
class ChatRules:
    """Provider-dependent severities for one scan."""

    local: bool = False
    """Local training (chat template): unknown keys are dropped, weight is ignored."""


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
    (``check_messages`` + ``count_chat``), which gives the same figures.
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


def _is_weight(value: Any) -> bool:
    return type(value) is int and value in (0, 1)


def check_messages(
    messages: Any,
    line: int,
    out: list[Finding],
    rules: ChatRules,
    prefix: str = "messages",
    need_assistant: bool = True,
) -> bool:
    """Append findings about a messages list to ``out``; ``True`` when it has no error."""
    errors_before = sum(1 for f in out if f.level is Severity.ERROR)
    if not isinstance(messages, list) or not messages:
        what = (
            "is empty"
            if isinstance(messages, list)
            else f"is {type(messages).__name__}, not a list"
        )
        out.append(Finding("missing_messages_list", line, f'"{prefix}" {what}', prefix))
        return False
    pending: set[str] = set()
    open_calls_at: int | None = None
    has_user = has_system = has_trained_assistant = has_assistant = False
    for i, message in enumerate(messages):
        where = f"{prefix}[{i}]"
        if not isinstance(message, dict):
            out.append(
                Finding(
                    "data_type", line, f"{where} is {type(message).__name__}, not an object", where
                )
            )
            continue
        role = message.get("role")
        if role is None:
            out.append(
                Finding("message_missing_key", line, f'{where} has no "role"', where + ".role")
            )
            continue
        if not isinstance(role, str) or role not in ROLES:
            out.append(
                Finding("unrecognized_role", line, f"{where}.role is {role!r}", where + ".role")
            )
            continue
        extra = message.keys() - MESSAGE_KEYS
        if extra:
            sev = Severity.WARNING if rules.local else None
            keys = ", ".join(sorted(map(str, extra)))
            out.append(
                Finding(
                    "message_unrecognized_key",
                    line,
                    f"{where} has unrecognised key(s): {keys}",
                    where,
                    sev,
                )
            )
        if role == "developer":
            out.append(
                Finding("developer_role", line, f"{where} uses the developer role", where + ".role")
            )
        if open_calls_at is not None and role != "tool" and pending:
            ids = ", ".join(sorted(pending))
            out.append(
                Finding(
                    "unanswered_tool_call",
                    line,
                    f"messages[{open_calls_at}] calls {ids} but no tool message answers before {where}",
                    where,
                )
            )
            pending.clear()
            open_calls_at = None
        name = message.get("name")
        if name is not None and not isinstance(name, str):
            out.append(
                Finding("data_type", line, f"{where}.name must be a string", where + ".name")
            )
        weight = message.get("weight")
        if "weight" in message:
            if not _is_weight(weight) or role != "assistant":
                why = f"is {weight!r}" if not _is_weight(weight) else f"is set on a {role} message"
                out.append(
                    Finding(
                        "invalid_weight",
                        line,
                        f"{where}.weight {why}; use 0 or 1 on assistant messages",
                        where + ".weight",
                    )
                )
            elif rules.local:
                out.append(
                    Finding(
                        "weight_ignored",
                        line,
                        f"{where}.weight is ignored by local training",
                        where + ".weight",
                    )
                )
        has_calls = _check_calls(message, role, where, line, out, pending)
        if has_calls:
            open_calls_at = i
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not isinstance(call_id, str):
                out.append(
                    Finding(
                        "message_missing_key",
                        line,
                        f'{where} (tool) has no "tool_call_id" string',
                        where + ".tool_call_id",
                    )
                )
            elif call_id not in pending:
                out.append(
                    Finding(
                        "tool_call_id_mismatch",
                        line,
                        f"{where}.tool_call_id {call_id!r} matches no open tool call before it",
                        where + ".tool_call_id",
                    )
                )
            else:
                pending.discard(call_id)
        elif role == "function" and not isinstance(name, str):
            out.append(
                Finding(
                    "message_missing_key",
                    line,
                    f'{where} (function) has no "name"',
                    where + ".name",
                )
            )
        _check_content(message, role, has_calls, where, line, out)
        if role == "user":
            has_user = True
        elif role in ("system", "developer"):
            has_system = True
        elif role == "assistant":
            has_assistant = True
            if weight != 0:
                has_trained_assistant = True
    if need_assistant and not has_trained_assistant:
        why = (
            "all its assistant messages have weight 0"
            if has_assistant
            else "it has no assistant message"
        )
        out.append(
            Finding(
                "example_missing_assistant_message", line, f"Nothing to train on: {why}", prefix
            )
        )
    if need_assistant and not has_user:
        out.append(Finding("missing_user_message", line, "No user message in the example", prefix))
    if need_assistant and not has_system:
        out.append(
            Finding("missing_system_message", line, "No system message in the example", prefix)
        )
    return sum(1 for f in out if f.level is Severity.ERROR) == errors_before


def _check_calls(
    message: dict[str, Any], role: str, where: str, line: int, out: list[Finding], pending: set[str]
) -> bool:
    """Check ``tool_calls`` / ``function_call``; record call ids in ``pending``. ``True`` if it calls."""
    calls = message.get("tool_calls")
    function_call = message.get("function_call")
    if calls is None and function_call is None:
        return False
    if role != "assistant":
        out.append(
            Finding(
                "data_type",
                line,
                f"{where} is a {role} message: only assistant messages make tool calls",
                where,
            )
        )
        return False
    if function_call is not None and (
        not isinstance(function_call, dict) or not isinstance(function_call.get("name"), str)
    ):
        out.append(
            Finding(
                "data_type",
                line,
                f'{where}.function_call must be {{"name": ..., "arguments": "..."}}',
                where + ".function_call",
            )
        )
    if calls is None:
        return function_call is not None
    if not isinstance(calls, list) or not calls:
        out.append(
            Finding(
                "data_type",
                line,
                f"{where}.tool_calls must be a non-empty list",
                where + ".tool_calls",
            )
        )
        return False
    for j, call in enumerate(calls):
        at = f"{where}.tool_calls[{j}]"
        if not isinstance(call, dict):
            out.append(Finding("data_type", line, f"{at} must be an object", at))
            continue
        call_id = call.get("id")
        function = call.get("function")
        if not isinstance(call_id, str):
            out.append(Finding("message_missing_key", line, f'{at} has no "id" string', at + ".id"))
        else:
            pending.add(call_id)
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            out.append(
                Finding(
                    "message_missing_key",
                    line,
                    f'{at} has no "function" with a "name"',
                    at + ".function",
                )
            )
        elif not isinstance(function.get("arguments", ""), str):
            out.append(
                Finding(
                    "data_type",
                    line,
                    f"{at}.function.arguments must be a JSON string",
                    at + ".function.arguments",
                )
            )
    return True


def _check_content(
    message: dict[str, Any], role: str, has_calls: bool, where: str, line: int, out: list[Finding]
) -> None:
    content = message.get("content")
    field = where + ".content"
    if content is None:
        if not (role == "assistant" and has_calls):
            out.append(
                Finding("missing_content", line, f'{where} ({role}) has no "content"', field)
            )
        return
    if isinstance(content, str):
        if not content.strip() and not has_calls:
            out.append(Finding("empty_content", line, f"{field} is empty", field))
        return
    if not isinstance(content, list):
        out.append(
            Finding(
                "data_type",
                line,
                f"{field} is {type(content).__name__}: use a string or a list of parts",
                field,
            )
        )
        return
    has_text = False
    for k, part in enumerate(content):
        at = f"{field}[{k}]"
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            has_text = has_text or bool(part["text"].strip())
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else None
            if not isinstance(url, str):
                out.append(
                    Finding(
                        "data_type",
                        line,
                        f'{at}.image_url must be {{"url": "..."}}',
                        at + ".image_url",
                    )
                )
            elif role != "user":
                out.append(
                    Finding("image_in_assistant", line, f"{at} is an image in a {role} message", at)
                )
            has_text = True
        else:
            out.append(
                Finding(
                    "data_type",
                    line,
                    f'{at} must be {{"type": "text", "text": ...}} or an image_url part',
                    at,
                )
            )
    if not has_text and not has_calls:
        out.append(Finding("empty_content", line, f"{field} has no text", field))


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
