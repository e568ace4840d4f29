"""A deterministic LLM judge for the emulator: it recognises the rubric and grades by a rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from backends.evaluate.judge import RUBRIC

Responder = Callable[[str, list[dict[str, Any]]], str]
Grader = Callable[[str, str], str]
"""``(candidate, reference)`` → the judge's reply text."""

_PART = r"<{0}>\n(.*?)\n</{0}>"


def judged_parts(messages: list[dict[str, Any]]) -> tuple[str, str] | None:
    """(candidate, reference) when ``messages`` are a judge request, else ``None``."""
    if not messages or messages[0].get("content") != RUBRIC:
        return None
    user = str(messages[-1]["content"])
    candidate = re.search(_PART.format("candidate_answer"), user, re.S)
    reference = re.search(_PART.format("reference_answer"), user, re.S)
    assert candidate and reference, user
    return candidate.group(1), reference.group(1)


def exact_grader(candidate: str, reference: str) -> str:
    """5 for the reference itself, 3 when it is in the answer, 1 otherwise; garbage for "???"."""
    if candidate.strip() == "???":
        return "I would say three"
    if candidate.strip() == reference.strip():
        return '{"score": 5}'
    return '{"score": 3}' if reference.split(".")[0] in candidate else "1"


def with_judge(responder: Responder, grader: Grader = exact_grader) -> Responder:
    """``responder`` for the methods' requests, ``grader`` for the judge's."""

    def answer(model: str, messages: list[dict[str, Any]]) -> str:
        parts = judged_parts(messages)
        if parts is None:
            return responder(model, messages)
        return grader(*parts)

    return answer
