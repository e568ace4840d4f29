"""What the LLM judge will cost, before it runs.

One judge request per answer: examples × methods. Each request's prompt
tokens are counted the way OpenAI bills a chat (``count_chat``: the rubric,
the request, the reference, with the model's tiktoken encoding); the answer
is not known yet, so it is taken as long as the reference, at most the
answers' token budget. The reply is counted as one ``{"score": N}``. Prices
are the judge model's per-token prices from the dated catalog; a model
without one (every Azure deployment, an unknown name) is "price unknown",
never a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from backends import registry
from backends.catalog import Provider, base_of_fine_tuned, find_hosted
from backends.data.chat_tokens import count_chat
from backends.evaluate.prompts import Example, prompt_text
from backends.evaluate.verdicts import REPLY_EXAMPLE, JudgeEstimate, judge_messages

__all__ = ["JudgeEstimate", "estimate_judge_cost", "judge_prices", "planned_methods"]

DEFAULT_ENCODING = "o200k_base"
"""Counts the tokens of a judge model the catalog does not know (marked approximate)."""


def judge_prices(model: str, provider: str) -> tuple[float | None, float | None]:
    """USD per 1M (prompt, reply) tokens of ``model`` at ``provider``; ``None`` where unknown."""
    entry = find_hosted(Provider(provider), model)
    if entry is None:
        return None, None
    if base_of_fine_tuned(model.strip()):
        return entry.prices.tuned_input, entry.prices.tuned_output
    return entry.prices.base_input, entry.prices.base_output


def _counter(model: str, provider: str) -> tuple[Callable[[str], int], bool]:
    from backends.data.tokenizer import TokenCounter

    entry = find_hosted(Provider(provider), model) or find_hosted(Provider.OPENAI, model)
    encoding = entry.encoding if entry is not None else DEFAULT_ENCODING
    counter = TokenCounter.for_encoding(encoding)
    return counter, counter.choice.exact and entry is not None


def planned_methods(
    *,
    zero_shot: bool,
    few_shot_k: int,
    rag_k: int,
    has_pool: bool,
    tuned: bool,
    current: bool = False,
) -> int:
    """How many methods a comparison will answer with (as ``compare.build_requests`` decides)."""
    alternatives = int(zero_shot) + int(has_pool and few_shot_k > 0) + int(has_pool and rag_k > 0)
    return alternatives + int(tuned) + int(current)


def estimate_judge_cost(
    examples: Sequence[Example],
    methods: int,
    model: str,
    *,
    provider: str = registry.DEFAULT_HOSTED,
    max_answer_tokens: int = 256,
    count: Callable[[str], int] | None = None,
) -> JudgeEstimate:
    """The judge's tokens and price for ``methods`` answers to each of ``examples``."""
    exact = True
    if count is None:
        count, exact = _counter(model, provider)
    per_example = 0
    for example in examples:
        reference = example.reference
        messages = judge_messages(prompt_text(example.prompt), reference, "")
        answer = min(count(reference), max_answer_tokens)
        per_example += count_chat(messages, count).total + answer
    requests = len(examples) * methods
    input_price, output_price = judge_prices(model, provider)
    return JudgeEstimate(
        model=model,
        provider=provider,
        requests=requests,
        prompt_tokens=per_example * methods,
        completion_tokens=count(REPLY_EXAMPLE) * requests,
        input_price=input_price,
        output_price=output_price,
        exact_tokens=exact,
    )
