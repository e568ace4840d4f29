"""Checking one OpenAI chat example against the fine-tuning format.

The Cookbook's checks, corrected for today's format: assistant messages may
carry ``tool_calls`` (or a legacy ``function_call``) instead of content,
``tool`` messages answer a call by its id, content may be a list of parts
(text and images), ``weight`` 0/1 marks which assistant turns are trained.

Token counting (``quick_chat``, ``count_chat``, ``ChatFigures``) lives in
``backends.data.chat_tokens`` and is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends.data.chat_tokens import (
    TOKENS_PER_MESSAGE,
    TOKENS_PER_NAME,
    TOKENS_REPLY_PRIMING,
    ChatFigures,
    count_chat,
    quick_chat,
)
from backends.data.findings import Finding, Severity

__all__ = [
    "MESSAGE_KEYS",
    "ROLES",
    "TOKENS_PER_MESSAGE",
    "TOKENS_PER_NAME",
    "TOKENS_REPLY_PRIMING",
    "ChatFigures",
    "ChatRules",
    "check_messages",
    "count_chat",
    "quick_chat",
]

ROLES = frozenset({"system", "user", "assistant", "tool", "function", "developer"})
MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"}
)


@dataclass
class ChatRules:
    """Provider-dependent severities for one scan."""

    local: bool = False
    """Local training (chat template): unknown keys are dropped, weight is ignored."""


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
