"""Checking one parsed example of any format and measuring it in tokens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backends.data.chat_checks import ChatFigures, ChatRules, check_messages, count_chat, quick_chat
from backends.data.findings import Finding, Severity
from backends.data.formats import ConversionError, DataFormat, to_chat
from backends.data.preferences import is_hf_preference, pair_findings, to_pair
from backends.data.tokenizer import TokenCounter


def _check_definitions(example: dict[str, Any], line: int, out: list[Finding]) -> bool:
    ok = True
    tools = example.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            out.append(
                Finding("data_type", line, '"tools" must be a list of tool definitions', "tools")
            )
            ok = False
        else:
            for i, tool in enumerate(tools):
                function = tool.get("function") if isinstance(tool, dict) else None
                if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                    out.append(
                        Finding(
                            "data_type",
                            line,
                            f'tools[{i}] must be {{"type": "function", "function": {{"name": ...}}}}',
                            f"tools[{i}]",
                        )
                    )
                    ok = False
    functions = example.get("functions")
    if functions is not None and (
        not isinstance(functions, list)
        or not all(isinstance(f, dict) and isinstance(f.get("name"), str) for f in functions)
    ):
        out.append(
            Finding(
                "data_type",
                line,
                '"functions" must be a list of {"name": ...} definitions',
                "functions",
            )
        )
        ok = False
    return ok


def check_example(
    example: dict[str, Any],
    fmt: DataFormat,
    line: int,
    count: TokenCounter,
    rules: ChatRules,
    out: list[Finding],
) -> ChatFigures | None:
    """Append findings to ``out``; return the example's token figures when it is valid."""
    if fmt is DataFormat.CHAT:
        if len(example) == 1:
            figures = quick_chat(example["messages"], line, count, out)
            if figures is not None:
                return figures
        ok = check_messages(example.get("messages"), line, out, rules)
        ok = _check_definitions(example, line, out) and ok
        if not ok:
            return None
        return count_chat(
            example["messages"], count, example.get("tools"), example.get("functions")
        )
    if fmt is DataFormat.DPO:
        return _check_dpo(example, line, count, rules, out)
    if fmt is DataFormat.PROMPT_COMPLETION:
        bad = [k for k in ("prompt", "completion") if not isinstance(example.get(k), str)]
        for key in bad:
            out.append(Finding("data_type", line, f'"{key}" must be a string', key))
        if bad:
            return None
        completion = example["completion"]
        if not completion.strip():
            out.append(Finding("empty_content", line, '"completion" is empty', "completion"))
        prompt_tokens = count(example["prompt"])
        completion_tokens = count(completion)
        return ChatFigures(prompt_tokens + completion_tokens, completion_tokens, 2)
    if fmt in (DataFormat.ALPACA, DataFormat.SHAREGPT):
        try:
            chat = to_chat(example, fmt)
        except ConversionError as exc:
            out.append(
                Finding("data_type", line, f"Cannot read this {fmt.label} example: {exc}", "")
            )
            return None
        if not check_messages(chat["messages"], line, out, rules):
            return None
        return count_chat(chat["messages"], count)
    keys = ", ".join(sorted(map(str, example))[:8]) or "none"
    out.append(Finding("unknown_format", line, f"No known format has these keys: {keys}", ""))
    return None


def _check_dpo(
    example: dict[str, Any],
    line: int,
    count: Callable[[str], int],
    rules: ChatRules,
    out: list[Finding],
) -> ChatFigures | None:
    if is_hf_preference(example):
        return _check_hf_preference(example, line, count, rules, out)
    source = example.get("input")
    if not isinstance(source, dict):
        out.append(Finding("data_type", line, '"input" must be an object with "messages"', "input"))
        return None
    ok = check_messages(
        source.get("messages"), line, out, rules, "input.messages", need_assistant=False
    )
    ok = _check_definitions(source, line, out) and ok
    for key in ("preferred_output", "non_preferred_output"):
        value = example.get(key)
        if not isinstance(value, list) or not value:
            out.append(
                Finding(
                    "missing_messages_list",
                    line,
                    f'"{key}" must be a non-empty list of assistant messages',
                    key,
                )
            )
            ok = False
            continue
        ok = check_messages(value, line, out, rules, key, need_assistant=False) and ok
        if any(isinstance(m, dict) and m.get("role") != "assistant" for m in value):
            out.append(
                Finding("unrecognized_role", line, f'"{key}" may only hold assistant messages', key)
            )
            ok = False
    if not ok:
        return None
    pair_problems = pair_findings(to_pair(example), line)
    out.extend(pair_problems)
    if any(f.level is Severity.ERROR for f in pair_problems):
        return None
    base = count_chat(source["messages"], count, source.get("tools"))
    preferred = count_chat(example["preferred_output"], count)
    rejected = count_chat(example["non_preferred_output"], count)
    trained = preferred.assistant + rejected.assistant
    return ChatFigures(
        base.total + preferred.total + rejected.total,
        trained,
        base.messages + preferred.messages + rejected.messages,
        base.images,
        base.approximate,
    )


def _check_hf_preference(
    example: dict[str, Any],
    line: int,
    count: Callable[[str], int],
    rules: ChatRules,
    out: list[Finding],
) -> ChatFigures | None:
    """``prompt``/``chosen``/``rejected`` (Hugging Face's layout), conversational or plain text."""
    try:
        pair = to_pair(example)
    except ConversionError as exc:
        out.append(Finding("data_type", line, f"Cannot read this preference pair: {exc}", ""))
        return None
    if not rules.local:
        out.append(
            Finding(
                "unknown_format",
                line,
                "Hugging Face preference layout (prompt/chosen/rejected): hosted DPO needs "
                "input/preferred_output/non_preferred_output; local training reads it as it is",
                "",
            )
        )
        return None
    problems = pair_findings(pair, line)
    out.extend(problems)
    if any(f.level is Severity.ERROR for f in problems):
        return None
    sides = []
    for side in (pair.prompt, pair.chosen, pair.rejected):
        if isinstance(side, str):
            tokens = count(side)
            sides.append(ChatFigures(tokens, tokens, 1))
        else:
            sides.append(count_chat(side, count))
    prompt, chosen, rejected = sides
    trained = (
        chosen.assistant + rejected.assistant
        if pair.conversational
        else chosen.total + rejected.total
    )
    return ChatFigures(
        prompt.total + chosen.total + rejected.total,
        trained,
        prompt.messages + chosen.messages + rejected.messages,
        prompt.images,
        prompt.approximate,
    )
