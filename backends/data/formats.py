"""The dataset formats we recognise, and converting the old ones to chat.

- ``chat``: OpenAI chat fine-tuning, ``{"messages": [...], "tools": [...]}``.
- ``dpo``: OpenAI preference data, ``{"input": {"messages": [...]},
  "preferred_output": [...], "non_preferred_output": [...]}``, or Hugging Face's
  ``{"prompt": ..., "chosen": ..., "rejected": ...}`` (see ``backends.data.preferences``).
- ``prompt_completion``: legacy ``{"prompt": ..., "completion": ...}``.
- ``alpaca``: ``{"instruction": ..., "input": ..., "output": ...}``.
- ``sharegpt``: ``{"conversations": [{"from": "human", "value": ...}, ...]}``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class DataFormat(str, Enum):
    CHAT = "chat"
    DPO = "dpo"
    PROMPT_COMPLETION = "prompt_completion"
    ALPACA = "alpaca"
    SHAREGPT = "sharegpt"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return FORMAT_LABELS[self]

    @property
    def convertible(self) -> bool:
        return self in (DataFormat.PROMPT_COMPLETION, DataFormat.ALPACA, DataFormat.SHAREGPT)


FORMAT_LABELS = {
    DataFormat.CHAT: "OpenAI chat",
    DataFormat.DPO: "DPO preference pairs",
    DataFormat.PROMPT_COMPLETION: "legacy prompt/completion",
    DataFormat.ALPACA: "Alpaca instruction/input/output",
    DataFormat.SHAREGPT: "ShareGPT conversations",
    DataFormat.UNKNOWN: "unrecognised",
}


def detect_format(example: dict[str, Any]) -> DataFormat:
    """The format one JSON object is written in (by its keys)."""
    if "messages" in example:
        return DataFormat.CHAT
    if "preferred_output" in example or "non_preferred_output" in example:
        return DataFormat.DPO
    if "chosen" in example and "rejected" in example:  # Hugging Face's preference layout
        return DataFormat.DPO
    if "prompt" in example and "completion" in example:
        return DataFormat.PROMPT_COMPLETION
    if "instruction" in example and "output" in example:
        return DataFormat.ALPACA
    if "conversations" in example:
        return DataFormat.SHAREGPT
    return DataFormat.UNKNOWN


SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "model": "assistant",
    "tool": "tool",
    "function_response": "tool",
    "observation": "tool",
}


class ConversionError(ValueError):
    """An example that cannot be converted; the message says which field and why."""


def _text(example: dict[str, Any], key: str, required: bool = True) -> str:
    value = example.get(key)
    if value is None:
        if required:
            raise ConversionError(f'"{key}" is missing')
        return ""
    if not isinstance(value, str):
        raise ConversionError(f'"{key}" must be a string, not {type(value).__name__}')
    return value


def to_chat(
    example: dict[str, Any], fmt: DataFormat | None = None, system: str | None = None
) -> dict[str, Any]:
    """One example in chat format (``{"messages": [...]}``); chat examples pass through."""
    fmt = fmt or detect_format(example)
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    if fmt is DataFormat.CHAT:
        return example
    if fmt is DataFormat.PROMPT_COMPLETION:
        prompt = _text(example, "prompt")
        completion = _text(example, "completion")
        messages.append({"role": "user", "content": prompt.strip()})
        messages.append({"role": "assistant", "content": completion.strip()})
    elif fmt is DataFormat.ALPACA:
        instruction = _text(example, "instruction")
        extra = _text(example, "input", required=False)
        user = instruction.strip() + ("\n\n" + extra.strip() if extra.strip() else "")
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": _text(example, "output").strip()})
    elif fmt is DataFormat.SHAREGPT:
        turns = example.get("conversations")
        if not isinstance(turns, list) or not turns:
            raise ConversionError('"conversations" must be a non-empty list')
        if isinstance(example.get("system"), str) and example["system"].strip() and not system:
            messages.append({"role": "system", "content": example["system"]})
        for index, turn in enumerate(turns):
            if not isinstance(turn, dict):
                raise ConversionError(f"conversations[{index}] must be an object")
            speaker = turn.get("from", turn.get("role"))
            value = turn.get("value", turn.get("content"))
            role = SHAREGPT_ROLES.get(str(speaker).lower()) if isinstance(speaker, str) else None
            if role is None:
                raise ConversionError(
                    f"conversations[{index}].from is {speaker!r}: not a known speaker"
                )
            if not isinstance(value, str):
                raise ConversionError(f"conversations[{index}].value must be a string")
            messages.append({"role": role, "content": value})
    else:
        raise ConversionError(f"{FORMAT_LABELS[fmt]} examples cannot be converted to chat")
    return {"messages": messages}


STANDARD_COLUMNS: dict[DataFormat, tuple[str, ...]] = {
    DataFormat.CHAT: ("messages",),
    DataFormat.DPO: ("input", "preferred_output", "non_preferred_output"),
    DataFormat.PROMPT_COMPLETION: ("prompt", "completion"),
    DataFormat.ALPACA: ("instruction", "input", "output"),
    DataFormat.SHAREGPT: ("conversations",),
}


def apply_column_mapping(example: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    """Rename columns: ``mapping`` is ``{standard_name: column_in_the_data}``."""
    if not mapping:
        return example
    renamed = dict(example)
    for standard, column in mapping.items():
        if column in renamed:
            renamed[standard] = renamed.pop(column)
    return renamed
