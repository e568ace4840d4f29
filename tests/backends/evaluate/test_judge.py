"""The LLM judge: the rubric's replies read strictly, its price before it runs, a judged comparison."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from backends.decision import Answers
from backends.evaluate import compare as cmp
from backends.evaluate.judge import (
    JUDGE,
    JUDGE_MAX_TOKENS,
    RUBRIC,
    RUBRIC_VERSION,
    JudgeReplyError,
    judge_comparison,
    judge_messages,
    judge_runner,
    parse_verdict,
    verdict_of,
)
from backends.evaluate.judge_cost import estimate_judge_cost, planned_methods
from backends.evaluate.outcome import record_outcome
from backends.evaluate.prompts import Example, load_eval_set
from backends.evaluate.runners import Generation, HostedRunner
from backends.hosted.settings import HostedSettings
from tests.fakes.finetune_api import FineTuneAPI
from tests.fakes.judge import exact_grader, with_judge
from tests.support.evaluate import tuned_or_echo

BASE = "gpt-4o-mini-2024-07-18"
TUNED = "ft:gpt-4o-mini-2024-07-18:org::abc123"
JUDGE_MODEL = "gpt-4.1-mini"


# --- the rubric and its replies -------------------------------------------------
def test_rubric_is_versioned_and_says_every_level() -> None:
    assert f"rubric v{RUBRIC_VERSION}" in RUBRIC
    for level in range(1, 6):
        assert f"\n{level}: " in RUBRIC
    assert '{"score": N}' in RUBRIC
    system, user = judge_messages("user: What is 2 plus 2?", "4", "four")
    assert system == {"role": "system", "content": RUBRIC}
    assert user["role"] == "user"
    assert "<request>\nuser: What is 2 plus 2?\n</request>" in user["content"]
    assert "<reference_answer>\n4\n</reference_answer>" in user["content"]
    assert "<candidate_answer>\nfour\n</candidate_answer>" in user["content"]


@pytest.mark.parametrize(
    ("reply", "score"),
    [
        ('{"score": 4}', 4),
        ('  {"score":1}\n', 1),
        ('{"score": 5, "reason": "matches the reference"}', 5),
        ("3", 3),
        ("2\n", 2),
    ],
)
def test_valid_replies(reply: str, score: int) -> None:
    assert parse_verdict(reply) == score


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ('{"score": 7}', "score 7 is outside 1-5"),
        ('{"score": 0}', "score 0 is outside 1-5"),
        ("6", "score 6 is outside 1-5"),
        ("-1", "score -1 is outside 1-5"),
    ],
)
def test_out_of_range_replies(reply: str, why: str) -> None:
    with pytest.raises(JudgeReplyError, match=why):
        parse_verdict(reply)


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("", "an empty reply"),
        ("   ", "an empty reply"),
        ("Score: 4", "not a score: 'Score: 4'"),
        ("I would give it a 4/5.", "not a score"),
        ('```json\n{"score": 4}\n```', "not a score"),
        ('{"score": "4"}', 'no integer "score"'),
        ('{"score": 4.5}', 'no integer "score"'),
        ('{"score": true}', 'no integer "score"'),
        ('{"grade": 4}', 'no integer "score"'),
        ("[4]", 'no integer "score"'),
        ("null", 'no integer "score"'),
    ],
)
def test_garbage_replies(reply: str, why: str) -> None:
    with pytest.raises(JudgeReplyError, match=why.replace("(", r"\(")):
        parse_verdict(reply)


def test_a_long_garbage_reply_is_quoted_short() -> None:
    with pytest.raises(JudgeReplyError) as caught:
        parse_verdict("x" * 500)
    assert len(str(caught.value)) < 100


def test_verdicts_of_failed_and_unusable_replies() -> None:
    assert verdict_of(Generation("j/0", text='{"score": 2}')).score == 2
    failed = verdict_of(Generation("j/0", error="HTTP 500"))
    assert failed.score is None and failed.error == "judge request failed: HTTP 500"
    unusable = verdict_of(Generation("j/0", text="great answer"))
    assert unusable.score is None and unusable.reply == "great answer"
    assert unusable.error == "unusable judge reply: not a score: 'great answer'"


# --- the price, before running --------------------------------------------------
def example(reference: str, question: str = "What is 2 plus 2?") -> Example:
    return Example(1, ({"role": "user", "content": question},), reference)


def test_estimate_by_hand_one_token_per_string() -> None:
    # Every string counts 1 token: per request 3 (reply priming) + 2 messages × (3 + role 1 +
    # content 1) = 13, plus the answer (as long as the reference: 1) = 14 prompt tokens;
    # the reply {"score": N} counts 1.
    estimate = estimate_judge_cost([example("4")] * 3, 4, JUDGE_MODEL, count=lambda text: 1)
    assert estimate.requests == 12
    assert estimate.prompt_tokens == 12 * 14 == 168
    assert estimate.completion_tokens == 12
    # gpt-4.1-mini: $0.40 / $1.60 per 1M tokens (catalog, 2025-06)
    assert (estimate.input_price, estimate.output_price) == (0.40, 1.60)
    assert estimate.cost == pytest.approx((168 * 0.40 + 12 * 1.60) / 1e6) == pytest.approx(8.64e-5)
    summary = estimate.summary()
    assert summary.startswith("12 judge requests to gpt-4.1-mini on OpenAI: 168 prompt + 12 reply")
    assert "about $0.0001 (prices as of 2025-06)" in summary


def test_estimate_caps_the_answer_at_the_token_budget() -> None:
    words = lambda text: len(text.split())  # noqa: E731
    long = [example("one two three four five six seven")]  # 7 words
    capped = estimate_judge_cost(long, 2, JUDGE_MODEL, max_answer_tokens=3, count=words)
    full = estimate_judge_cost(long, 2, JUDGE_MODEL, max_answer_tokens=100, count=words)
    assert full.prompt_tokens - capped.prompt_tokens == 2 * (7 - 3)


def test_estimate_prices_a_tuned_judge_and_knows_no_azure_price() -> None:
    tuned = estimate_judge_cost([example("4")], 1, TUNED, count=lambda text: 1)
    assert (tuned.input_price, tuned.output_price) == (0.30, 1.20)
    azure = estimate_judge_cost([example("4")], 1, "my-judge", provider="azure", count=len)
    assert azure.cost is None and azure.cost_text() == "price unknown"
    assert azure.summary().startswith("1 judge request to my-judge on Azure OpenAI")
    assert "price unknown (no catalog price for my-judge on Azure OpenAI)" in azure.summary()
    assert "$" not in azure.summary()


def test_estimate_counts_with_the_models_tokenizer() -> None:
    from backends.data.tokenizer import TokenCounter

    estimate = estimate_judge_cost([example("4")] * 2, 3, JUDGE_MODEL)
    count = TokenCounter.for_encoding("o200k_base")
    assert estimate.exact_tokens
    assert estimate.prompt_tokens > 6 * count(RUBRIC)
    assert estimate.completion_tokens == 6 * count('{"score": 4}')


def test_planned_methods() -> None:
    assert planned_methods(zero_shot=True, few_shot_k=3, rag_k=3, has_pool=True, tuned=True) == 4
    assert planned_methods(zero_shot=True, few_shot_k=3, rag_k=3, has_pool=False, tuned=True) == 2
    assert planned_methods(zero_shot=False, few_shot_k=0, rag_k=2, has_pool=True, tuned=False) == 1


# --- a judged comparison against the emulator -----------------------------------
@pytest.fixture
def judged_api() -> FineTuneAPI:
    with FineTuneAPI(chat_responder=with_judge(tuned_or_echo)) as api:
        yield api


def runner(api: FineTuneAPI, model: str, **kwargs) -> HostedRunner:
    return HostedRunner(
        HostedSettings(base_url=api.base_url, timeout_s=5.0), model, secret=api.api_key, **kwargs
    )


def the_judge(api: FineTuneAPI, **kwargs) -> HostedRunner:
    settings = HostedSettings(base_url=api.base_url, timeout_s=5.0)
    return judge_runner(settings, JUDGE_MODEL, secret=api.api_key, **kwargs)


def plan(api: FineTuneAPI, **kwargs) -> cmp.Plan:
    return cmp.Plan(runner(api, BASE, **kwargs), runner(api, TUNED), few_shot_k=2, rag_k=2)


def test_judge_grades_every_answer(
    judged_api: FineTuneAPI, eval_file: Path, train_file: Path
) -> None:
    eval_set = load_eval_set(eval_file, train_file)
    result = cmp.compare(eval_set, plan(judged_api), resamples=200)
    plain = result.to_dict()
    estimate = estimate_judge_cost(eval_set.examples, 4, JUDGE_MODEL)
    seen: list[tuple[int, int]] = []
    report = judge_comparison(
        result,
        the_judge(judged_api),
        estimate=estimate,
        progress=lambda done, total: seen.append((done, total)),
        resamples=200,
    )
    assert result.judge is report
    assert (report.requested, report.judged, report.errors) == (24, 24, 0)
    assert seen[-1] == (24, 24)
    judge_calls = [c for c in judged_api.chat_calls if c["model"] == JUDGE_MODEL]
    assert len(judge_calls) == 24
    assert {c["temperature"] for c in judge_calls} == {0}
    assert {c["max_completion_tokens"] for c in judge_calls} == {JUDGE_MAX_TOKENS}
    tuned = result.methods["tuned"].scores[JUDGE]
    assert (tuned.mean, tuned.low, tuned.high, tuned.n) == (5.0, 5.0, 5.0, 6)
    assert result.methods["zero-shot"].mean(JUDGE) == 1.0
    assert result.rows[0].judgements["tuned"].score == 5
    assert result.rows[0].scores["tuned"][JUDGE] == 5.0
    # The other metrics, the benefit and the rows' answers are what they were without a judge.
    data = result.to_dict()
    for name, method in data["methods"].items():
        assert method["scores"].pop(JUDGE)["mean"] in (1.0, 5.0)
        assert method == plain["methods"][name]
    assert data["benefit"] == plain["benefit"]
    assert data["rows"][0]["answers"]["tuned"]["judge"] == {
        "score": 5, "reply": '{"score": 5}', "error": None
    }  # fmt: skip
    assert data["judge"]["rubric_version"] == RUBRIC_VERSION
    # The measured cost: the emulator's usage at gpt-4.1-mini's prices.
    assert report.prompt_tokens > 0 and report.completion_tokens == 6 * 2 + 18 * 1  # words
    assert report.cost == pytest.approx(
        (report.prompt_tokens * 0.40 + report.completion_tokens * 1.60) / 1e6
    )
    # The quality goal's scale: the share of answers the judge graded 4 or 5.
    measured = record_outcome(Answers(), result).measured
    assert (measured.tuned_score, measured.baseline_score) == (100.0, 0.0)
    assert measured.quality_measure == "acceptable = judge grade 4 or 5"


def test_no_judge_no_judge_figures(
    judged_api: FineTuneAPI, eval_file: Path, train_file: Path
) -> None:
    result = cmp.compare(load_eval_set(eval_file, train_file), plan(judged_api), resamples=50)
    data = result.to_dict()
    assert "judge" not in data
    assert all(JUDGE not in m["scores"] for m in data["methods"].values())
    assert all("judge" not in a for row in data["rows"] for a in row["answers"].values())
    assert not any(c["model"] == JUDGE_MODEL for c in judged_api.chat_calls)


def test_failed_answers_are_not_judged_and_bad_replies_are_errors(
    eval_file: Path, train_file: Path
) -> None:
    def grader(candidate: str, reference: str) -> str:
        return "no idea" if reference == "202" else exact_grader(candidate, reference)

    with FineTuneAPI(chat_responder=with_judge(tuned_or_echo, grader)) as api:
        api.inject(500, path_contains="/chat/completions", times=1)
        eval_set = load_eval_set(eval_file, train_file)
        result = cmp.compare(eval_set, plan(api, attempts=1, concurrency=1), resamples=50)
        assert result.methods["zero-shot"].errors == 1
        report = judge_comparison(result, the_judge(api), resamples=50)
    assert report.requested == 23  # 24 answers, one failed: never sent to the judge
    assert (report.judged, report.errors) == (19, 4)  # line 2 (202): unusable by every method
    assert report.first_error == "unusable judge reply: not a score: 'no idea'"
    assert "zero-shot" not in result.rows[0].judgements
    assert result.rows[1].judgements["tuned"].error == report.first_error
    assert JUDGE not in result.rows[1].scores["tuned"]
    assert result.methods["tuned"].scores[JUDGE].n == 5
    assert result.methods["zero-shot"].scores[JUDGE].n == 4


def test_cancel_keeps_what_was_judged(
    judged_api: FineTuneAPI, eval_file: Path, train_file: Path
) -> None:
    result = cmp.compare(load_eval_set(eval_file, train_file), plan(judged_api), resamples=50)
    judged_api.chat_delay_s = 0.02
    cancel = threading.Event()

    def progress(done: int, _total: int) -> None:
        if done == 3:
            cancel.set()

    report = judge_comparison(
        result, the_judge(judged_api, concurrency=1), cancel=cancel, progress=progress
    )
    assert report.cancelled and result.cancelled
    assert 3 <= report.judged < 24
    graded = sum(len(row.judgements) for row in result.rows)
    assert graded == report.judged
    assert sum(m.scores[JUDGE].n for m in result.methods.values() if JUDGE in m.scores) == graded


def test_a_comparison_cancelled_first_is_not_judged(
    judged_api: FineTuneAPI, eval_file: Path, train_file: Path
) -> None:
    result = cmp.compare(load_eval_set(eval_file, train_file), plan(judged_api), resamples=50)
    cancel = threading.Event()
    cancel.set()
    report = judge_comparison(result, the_judge(judged_api), cancel=cancel)
    assert (report.requested, report.judged, report.cancelled) == (24, 0, True)
    assert not any(c["model"] == JUDGE_MODEL for c in judged_api.chat_calls)


def test_no_answer_graded_says_why_next_to_the_count(
    judged_api: FineTuneAPI, eval_file: Path, train_file: Path
) -> None:
    from backends.evaluate.judge import judge_lines

    result = cmp.compare(load_eval_set(eval_file, train_file), plan(judged_api), resamples=50)
    settings = HostedSettings(base_url=judged_api.base_url, timeout_s=5.0)
    refused = judge_runner(settings, JUDGE_MODEL, secret="sk-wrong-key-000000000000", concurrency=1)
    report = judge_comparison(result, refused, resamples=50)
    lines = judge_lines(report)
    assert lines[0].startswith(f"Judge: {JUDGE_MODEL}, rubric v1, 0 of 24 answers graded")
    assert lines[1].startswith("  24 not graded: the judge stopped: ") and "401" in lines[1]
    assert "sk-wrong" not in "\n".join(lines)
