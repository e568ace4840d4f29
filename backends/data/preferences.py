"""Preference pairs (DPO): reading both common layouts, checking them, and tokenising them.

Two layouts are read:

- OpenAI's DPO JSONL: ``{"input": {"messages": [...], "tools": [...]},
  "preferred_output": [assistant messages], "non_preferred_output": [...]}``.
- The Hugging Face preference layout: ``{"prompt": ..., "chosen": ..., "rejected": ...}``,
  conversational (lists of messages) or plain text (strings). Without ``prompt`` (the
  "implicit prompt" layout) the messages ``chosen`` and ``rejected`` share are the prompt.

``encode_pair`` tokenises a pair the way local DPO trains on it: the prompt through the
model's chat template with the generation prompt, each answer as the tokens the template adds
after it (or, for plain text, the text and the end-of-sequence token). The Dataset step counts
with the same function, so its figures are the trainer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backends.data.findings import Finding
from backends.data.formats import ConversionError

Side = list[dict[str, Any]] | str


@dataclass(frozen=True)
class PreferencePair:
    """One preference example: a prompt, the preferred answer and the other one."""

    prompt: Side
    chosen: Side
    rejected: Side
    tools: list[Any] | None = None

    @property
    def conversational(self) -> bool:
        return isinstance(self.prompt, list)

    def to_record(self) -> dict[str, Any]:
        """trl's preference layout (``prompt``/``chosen``/``rejected``)."""
        record: dict[str, Any] = {
            "prompt": self.prompt,
            "chosen": self.chosen,
            "rejected": self.rejected,
        }
        if self.tools:
            record["tools"] = self.tools
        return record


@dataclass(frozen=True)
class EncodedPair:
    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[int]

    @property
    def longest(self) -> int:
        """The longer of prompt + chosen and prompt + rejected: what ``max_length`` bounds."""
        return len(self.prompt_ids) + max(len(self.chosen_ids), len(self.rejected_ids))

    @property
    def total(self) -> int:
        """Every token the pair puts through the model (the prompt twice: once per side)."""
        return 2 * len(self.prompt_ids) + len(self.chosen_ids) + len(self.rejected_ids)


def is_preference(example: dict[str, Any]) -> bool:
    """``example`` is a preference pair in either layout (by its keys)."""
    if "preferred_output" in example or "non_preferred_output" in example:
        return True
    return "chosen" in example and "rejected" in example


def is_hf_preference(example: dict[str, Any]) -> bool:
    return "chosen" in example and "rejected" in example and "preferred_output" not in example


def _messages(value: Any, key: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(m, dict) for m in value):
        raise ConversionError(f'"{key}" must be a list of messages or a string')
    for message in value:
        if not isinstance(message.get("role"), str):
            raise ConversionError(f'every message in "{key}" needs a "role"')
    return [_plain_message(m) for m in value]


def _plain_message(message: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in message.items() if k in ("role", "content", "tool_calls", "name")}
    if kept.get("content") is None:
        kept["content"] = ""
    return kept


def _answer(value: Any, key: str, conversational: bool) -> Side:
    if isinstance(value, str):
        return [{"role": "assistant", "content": value}] if conversational else value
    return _messages(value, key)


def to_pair(example: dict[str, Any]) -> PreferencePair:
    """The pair ``example`` holds; ``ConversionError`` names the field that is wrong."""
    if "preferred_output" in example or "non_preferred_output" in example:
        source = example.get("input")
        if not isinstance(source, dict):
            raise ConversionError('"input" must be an object with "messages"')
        tools = source.get("tools")
        return PreferencePair(
            _messages(source.get("messages"), "input.messages"),
            _messages(example.get("preferred_output"), "preferred_output"),
            _messages(example.get("non_preferred_output"), "non_preferred_output"),
            tools if isinstance(tools, list) and tools else None,
        )
    chosen, rejected = example.get("chosen"), example.get("rejected")
    prompt = example.get("prompt")
    tools = example.get("tools")
    tools = tools if isinstance(tools, list) and tools else None
    if prompt is None:  # implicit prompt: the shared messages are the prompt
        chosen_list = _messages(chosen, "chosen")
        rejected_list = _messages(rejected, "rejected")
        shared = 0
        while (
            shared < min(len(chosen_list), len(rejected_list)) - 1
            and chosen_list[shared] == rejected_list[shared]
        ):
            shared += 1
        if shared == 0:
            raise ConversionError(
                'no "prompt", and "chosen" and "rejected" share no opening messages to use as one'
            )
        return PreferencePair(
            chosen_list[:shared], chosen_list[shared:], rejected_list[shared:], tools
        )
    if isinstance(prompt, str):
        conversational = isinstance(chosen, list) or isinstance(rejected, list)
        if not isinstance(chosen, (str, list)) or not isinstance(rejected, (str, list)):
            raise ConversionError('"chosen" and "rejected" must be strings or lists of messages')
        prompt_side: Side = [{"role": "user", "content": prompt}] if conversational else prompt
        return PreferencePair(
            prompt_side,
            _answer(chosen, "chosen", conversational),
            _answer(rejected, "rejected", conversational),
            tools,
        )
    return PreferencePair(
        _messages(prompt, "prompt"),
        _answer(chosen, "chosen", True),
        _answer(rejected, "rejected", True),
        tools,
    )


def preferred_chat(example: dict[str, Any]) -> dict[str, Any]:
    """A pair as the chat it teaches: its prompt, then the preferred answer (for evaluating a
    DPO run on preference data, the preferred answer the reference); ``ConversionError`` when
    it is not a pair."""
    pair = to_pair(example)
    prompt = pair.prompt if isinstance(pair.prompt, list) else [user(pair.prompt)]
    if isinstance(pair.chosen, list):
        chosen = pair.chosen
    else:
        chosen = [{"role": "assistant", "content": pair.chosen}]
    return {"messages": [*prompt, *chosen]}


def to_preference_record(example: dict[str, Any]) -> dict[str, Any]:
    """A pair in OpenAI's (and Together's) preference layout: ``input.messages``,
    ``preferred_output``, ``non_preferred_output``; plain-text sides become a user message
    and assistant answers. ``ConversionError`` when it is not a pair."""
    pair = to_pair(example)
    prompt = pair.prompt if isinstance(pair.prompt, list) else [user(pair.prompt)]

    def answer(side: Side) -> list[dict[str, Any]]:
        return side if isinstance(side, list) else [{"role": "assistant", "content": side}]

    source: dict[str, Any] = {"messages": prompt}
    if pair.tools:
        source["tools"] = pair.tools
    return {
        "input": source,
        "preferred_output": answer(pair.chosen),
        "non_preferred_output": answer(pair.rejected),
    }


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def side_text(side: Side) -> str:
    """The words of one side, for comparing and for "is it empty?"."""
    if isinstance(side, str):
        return side
    parts = []
    for message in side:
        content = message.get("content")
        if isinstance(content, list):
            content = " ".join(
                str(part.get("text", "")) for part in content if isinstance(part, dict)
            )
        parts.append(str(content or ""))
        if message.get("tool_calls"):
            parts.append(repr(message["tool_calls"]))
    return "\n".join(parts)


def pair_findings(pair: PreferencePair, line: int) -> list[Finding]:
    """Empty sides (errors) and identical answers (a warning: the pair teaches nothing)."""
    out: list[Finding] = []
    for key, side in (("chosen", pair.chosen), ("rejected", pair.rejected)):
        if not side_text(side).strip():
            out.append(Finding("empty_preference_side", line, f'The "{key}" answer is empty', key))
    if not out and side_text(pair.chosen).strip() == side_text(pair.rejected).strip():
        out.append(
            Finding(
                "identical_preference_pair",
                line,
                'The "chosen" and "rejected" answers are the same',
                "chosen",
            )
        )
    if isinstance(pair.prompt, str) and not pair.prompt.strip():
        out.append(Finding("empty_preference_side", line, "The prompt is empty", "prompt"))
    return out


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _ids(encoded: Any) -> list[int]:
    if isinstance(encoded, dict) or hasattr(encoded, "keys"):
        encoded = encoded["input_ids"]
    return [int(i) for i in encoded]


def encode_pair(
    tokenizer: Any,
    pair: PreferencePair,
    *,
    template: str | None = None,
    max_prompt_length: int | None = None,
    max_completion_length: int | None = None,
) -> EncodedPair:
    """Token ids of the prompt and of each answer, the way local DPO trains on them.

    A prompt longer than ``max_prompt_length`` keeps its last tokens (the question nearest the
    answer); an answer longer than ``max_completion_length`` keeps its first tokens.
    """
    if pair.conversational:
        kwargs: dict[str, Any] = {"tokenize": True}
        if template is not None:
            kwargs["chat_template"] = template
        if pair.tools:
            kwargs["tools"] = pair.tools
        assert isinstance(pair.prompt, list)
        prompt = _ids(
            tokenizer.apply_chat_template(pair.prompt, add_generation_prompt=True, **kwargs)
        )
        sides = []
        for side in (pair.chosen, pair.rejected):
            messages = side if isinstance(side, list) else [{"role": "assistant", "content": side}]
            sides.append(_ids(tokenizer.apply_chat_template(pair.prompt + messages, **kwargs)))
        start = min(_common_prefix(prompt, sides[0]), _common_prefix(prompt, sides[1]))
        prompt_ids, chosen_ids, rejected_ids = prompt[:start], sides[0][start:], sides[1][start:]
    else:
        eos_id = getattr(tokenizer, "eos_token_id", None)
        prompt = _ids(tokenizer(str(pair.prompt), add_special_tokens=False))
        fulls = []
        for side in (pair.chosen, pair.rejected):
            full = _ids(tokenizer(str(pair.prompt) + str(side), add_special_tokens=False))
            if eos_id is not None and (not full or full[-1] != eos_id):
                full.append(int(eos_id))
            fulls.append(full)
        start = min(_common_prefix(prompt, fulls[0]), _common_prefix(prompt, fulls[1]))
        prompt_ids, chosen_ids, rejected_ids = prompt[:start], fulls[0][start:], fulls[1][start:]
    if max_prompt_length is not None and len(prompt_ids) > max_prompt_length:
        prompt_ids = prompt_ids[-max_prompt_length:]
    if max_completion_length is not None:
        chosen_ids = chosen_ids[:max_completion_length]
        rejected_ids = rejected_ids[:max_completion_length]
    return EncodedPair(prompt_ids, chosen_ids, rejected_ids)
