"""Question-answer chats and the emulator's rule for a tuned and a base model."""

from __future__ import annotations


def qa(i: int, system: str = "Answer with the number only.") -> dict[str, object]:
    return {
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": f"What is {i} plus {i}?"},
            {"role": "assistant", "content": str(2 * i)},
        ]
    }


def tuned_or_echo(model: str, messages: list[dict[str, object]]) -> str:
    """The tuned model answers right (2 × the number); the base model echoes the question."""
    last = str([m for m in messages if m["role"] == "user"][-1]["content"])
    if model.startswith("ft:"):
        return str(2 * int(last.split()[2]))
    return f"echo: {last}"
