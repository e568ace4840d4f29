"""Try it's words: a blank answer is named, with why; a provider's refusal says what to fix."""

from __future__ import annotations

import httpx
import openai
import pytest

from backends.evaluate.chat import Reply
from backends.evaluate.tryit import describe
from backends.hosted.errors import explain


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (Reply("", completion_tokens=1), "(empty answer: the model ended at once"),
        (Reply("  \n", completion_tokens=5), "produced 5 tokens, only special tokens"),
        (Reply(""), "(empty answer: the model sent no text)"),
    ],
)
def test_a_blank_answer_says_so_and_why(reply: Reply, said: str) -> None:
    assert said in describe(reply)


def test_answers_stops_and_errors_are_not_called_empty() -> None:
    assert "empty" not in describe(Reply("blue", completion_tokens=2))
    assert "empty" not in describe(Reply("", cancelled=True))
    assert "empty" not in describe(Reply("", error="the model failed"))


def refusal(message: str, param: str | None) -> openai.BadRequestError:
    request = httpx.Request("POST", "http://emulator/v1/chat/completions")
    body = {"message": message, "param": param, "code": None}  # the SDK passes the inner error
    return openai.BadRequestError(message, response=httpx.Response(400, request=request), body=body)


def test_only_a_refused_input_asks_to_change_the_input() -> None:
    model = explain(refusal("This model is not supported for chat.", "model"), provider="OpenAI")
    setting = explain(refusal("Unsupported value.", "temperature"), provider="OpenAI")
    unnamed = explain(refusal("Unsupported request.", None), provider="OpenAI")
    for error in (model, setting, unnamed):
        assert "Fix the input" not in str(error) and "Change what you sent" not in str(error)
    assert "Check the model" in model.hint
    assert "temperature" in setting.hint and "not your input" in setting.hint
    typed = explain(refusal("Content too long.", "messages"), provider="OpenAI")
    assert "Change what you sent" in typed.hint
