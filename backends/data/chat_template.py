"""Chat examples as a chat template takes them, and the template local training uses.

``for_template`` turns one chat example into what ``apply_chat_template``
expects: message keys no chat template reads (``weight``) are dropped, and
tool-call ``arguments`` written as JSON strings (OpenAI's format) become
objects (the Hugging Face chat-template convention). Local training
(``backends.local.dataset``) and the exact local token count
(``backends.data.local_tokens``) both use it.

A chat template that marks the assistant's tokens, so only they are trained on:

trl's assistant-only loss needs ``{% generation %}`` markers in the template.
``training_template`` finds one, in this order:

1. the model's own template, when it already has the markers;
2. trl's patched copy of a template it knows (Llama 3, Qwen, Gemma, Phi…);
3. for a ChatML template trl does not know (SmolLM2's, for one), a ChatML
   template with markers and the same default system prompt — used only when
   it renders the run's first examples exactly as the model's own does.

When none fits, training falls back to the loss on every token, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

_CHATML_START = "<|im_start|>"
_CHATML_END = "<|im_end|>"
_CHECKED_EXAMPLES = 20
TEMPLATE_MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")


def _arguments_as_object(call: Any) -> Any:
    if not isinstance(call, dict):
        return call
    function = call.get("function")
    if isinstance(function, dict) and isinstance(function.get("arguments"), str):
        try:
            parsed = orjson.loads(function["arguments"])
        except orjson.JSONDecodeError:
            return call
        if isinstance(parsed, dict):
            return {**call, "function": {**function, "arguments": parsed}}
    return call


def for_template(example: dict[str, Any]) -> dict[str, Any]:
    """One chat example as a chat template expects it."""
    messages = []
    for message in example["messages"]:
        kept = {k: message[k] for k in TEMPLATE_MESSAGE_KEYS if k in message}
        if kept.get("content") is None:
            kept["content"] = ""
        if isinstance(kept.get("tool_calls"), list):
            kept["tool_calls"] = [_arguments_as_object(c) for c in kept["tool_calls"]]
        messages.append(kept)
    record: dict[str, Any] = {"messages": messages}
    if example.get("tools"):
        record["tools"] = example["tools"]
    return record


@dataclass(frozen=True)
class TemplateChoice:
    template: str | None
    """The template to set on the tokenizer (``None``: keep the tokenizer's own)."""
    assistant_only: bool
    note: str


def chatml_training_template(default_system: str | None) -> str:
    """ChatML with ``{% generation %}`` around each assistant reply and its end-of-turn token."""
    default = ""
    if default_system is not None:
        default = (
            "{%- if loop.first and messages[0]['role'] != 'system' -%}{% raw %}"
            f"{_CHATML_START}system\n{default_system}{_CHATML_END}\n"
            "{% endraw %}{%- endif -%}"
        )
    return (
        "{%- for message in messages -%}" + default + "{%- if message['role'] == 'assistant' -%}"
        "{{ '<|im_start|>assistant\n' }}{% generation %}"
        "{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
        "{%- else -%}"
        "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
        "{%- endif -%}"
        "{%- endfor -%}"
        "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}{%- endif -%}"
    )


def _render(tokenizer: Any, messages: list[dict[str, Any]], template: str | None) -> str:
    return str(tokenizer.apply_chat_template(messages, tokenize=False, chat_template=template))


def _default_system(tokenizer: Any) -> str | None:
    """The system prompt a ChatML template adds when the conversation has none."""
    probe = _render(tokenizer, [{"role": "user", "content": "ping"}], None)
    head = f"{_CHATML_START}system\n"
    if not probe.startswith(head):
        return None
    end = probe.find(f"{_CHATML_END}\n{_CHATML_START}user")
    return probe[len(head) : end] if end > 0 else None


def _chatml_fallback(tokenizer: Any, samples: Sequence[dict[str, Any]]) -> str | None:
    own = tokenizer.chat_template
    if not isinstance(own, str) or _CHATML_START not in own:
        return None
    if any("tools" in s or any("tool_calls" in m for m in s["messages"]) for s in samples):
        return None
    candidate = chatml_training_template(_default_system(tokenizer))
    for sample in samples[:_CHECKED_EXAMPLES]:
        try:
            if _render(tokenizer, sample["messages"], candidate) != _render(
                tokenizer, sample["messages"], None
            ):
                return None
        except Exception:
            return None
    return candidate


def training_template(tokenizer: Any, samples: Sequence[dict[str, Any]]) -> TemplateChoice:
    """The template to train with, and whether the loss can be on the assistant tokens only."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    own = tokenizer.chat_template
    if not own:
        return TemplateChoice(
            chatml_training_template(None),
            True,
            "The model has no chat template: using ChatML markup, loss on assistant replies only.",
        )
    if has_generation_markers(own):
        return TemplateChoice(None, True, "Loss on assistant replies only (model's template).")
    try:
        patched = get_training_chat_template(tokenizer)
    except ValueError:
        patched = None
    if patched is not None:
        return TemplateChoice(
            patched, True, "Loss on assistant replies only (trl's training template)."
        )
    fallback = _chatml_fallback(tokenizer, samples)
    if fallback is not None:
        return TemplateChoice(
            fallback,
            True,
            "Loss on assistant replies only (ChatML template with markers, checked).",
        )
    return TemplateChoice(
        None,
        False,
        "This model's chat template cannot mark assistant replies: training on every token.",
    )


def uses_tools(record: dict[str, Any]) -> bool:
    """The example defines tools, calls one or answers as a tool: its template must render tools."""
    if record.get("tools"):
        return True
    return any(
        isinstance(m, dict) and (m.get("tool_calls") or m.get("role") == "tool")
        for m in record.get("messages") or ()
    )


def renders_tools(tokenizer: Any, template: str | None = None) -> bool:
    """``template`` (else the tokenizer's own) renders a whole tool-calling exchange.

    The one check behind both the Dataset report (a counted warning per example local training
    would skip) and the local worker (which skips those examples): trl's
    ``supports_tool_calling``, which renders a tool call and a tool reply and looks for both.
    """
    try:
        from trl.chat_template_utils import supports_tool_calling
    except ImportError:  # without trl: does the template read tool calls at all?
        text = template or getattr(tokenizer, "chat_template", None)
        return isinstance(text, str) and "tool_calls" in text
    if template is None:
        return bool(supports_tool_calling(tokenizer))
    own = tokenizer.chat_template
    tokenizer.chat_template = template
    try:
        return bool(supports_tool_calling(tokenizer))
    finally:
        tokenizer.chat_template = own


def tools_skipped(model: str) -> str:
    """What the report and the worker say about one example whose tools cannot be rendered."""
    return f"{model}'s chat template cannot render tool calls: local training skips this example"
