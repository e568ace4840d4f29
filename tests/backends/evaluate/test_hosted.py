"""The hosted runner through the real openai SDK against the emulator."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from backends.decision.answers import Answers
from backends.evaluate import compare as cmp
from backends.evaluate.outcome import record_outcome
from backends.evaluate.prompts import load_eval_set
from backends.evaluate.runners import HostedRunner, Request
from backends.hosted.settings import AZURE, HostedSettings
from tests.fakes.finetune_api import FineTuneAPI, count_words


def runner(api: FineTuneAPI, model: str = "gpt-4o-mini-2024-07-18", **kwargs) -> HostedRunner:
    settings = HostedSettings(base_url=api.base_url, timeout_s=5.0)
    return HostedRunner(settings, model, secret=api.api_key, **kwargs)


def requests(n: int) -> list[Request]:
    return [
        Request(f"r/{i}", [{"role": "user", "content": f"What is {i} plus {i}?"}]) for i in range(n)
    ]


def test_answers_usage_and_latency(emulator: FineTuneAPI) -> None:
    batch = requests(3)
    results = runner(emulator).run(batch)
    assert [r.text for r in results] == [f"echo: What is {i} plus {i}?" for i in range(3)]
    first = results[0]
    assert first.prompt_tokens == count_words(batch[0].messages)
    assert first.completion_tokens == 6  # "echo: What is 0 plus 0?"
    assert first.latency_s is not None and first.latency_s >= 0
    call = emulator.chat_calls[0]
    assert call["temperature"] == 0 and call["max_completion_tokens"] == 256


def test_429_is_retried_after_retry_after(emulator: FineTuneAPI) -> None:
    emulator.inject(429, path_contains="/chat/completions", retry_after=0.05, times=2)
    results = runner(emulator, concurrency=1).run(requests(1))
    assert results[0].ok and results[0].text.startswith("echo:")
    assert results[0].attempts == 3
    assert sum(1 for m, p in emulator.requests if p == "/chat/completions") == 3


def test_concurrency_is_bounded(emulator: FineTuneAPI) -> None:
    emulator.chat_delay_s = 0.05
    results = runner(emulator, concurrency=3).run(requests(12))
    assert all(r is not None and r.ok for r in results)
    assert 2 <= emulator.chat_max_in_flight <= 3


def test_cancel_keeps_partial_results(emulator: FineTuneAPI) -> None:
    emulator.chat_delay_s = 0.05
    cancel = threading.Event()
    done: list[str] = []

    def on_result(generation) -> None:
        done.append(generation.key)
        if len(done) == 2:
            cancel.set()

    results = runner(emulator, concurrency=1).run(requests(10), cancel=cancel, on_result=on_result)
    kept = [r for r in results if r is not None]
    assert 2 <= len(kept) < 10
    assert all(r.ok for r in kept)
    assert results[0] is not None and results[-1] is None


def test_bad_key_stops_and_is_redacted(emulator: FineTuneAPI) -> None:
    settings = HostedSettings(base_url=emulator.base_url, timeout_s=5.0)
    bad = "sk-wrong-key-abcdefghijklmnop"
    run = HostedRunner(settings, "gpt-4o-mini", secret=bad, concurrency=1)
    results = run.run(requests(5))
    failed = [r for r in results if r is not None]
    assert len(failed) == 1 and "401" in (failed[0].error or "")
    assert run.fatal and "wrong" not in run.fatal and "mnop" not in run.fatal


def test_azure_deployment_route(emulator: FineTuneAPI) -> None:
    settings = HostedSettings(
        provider=AZURE, azure_endpoint=emulator.azure_endpoint, api_version="2025-04-01-preview"
    )
    results = HostedRunner(settings, "my-deployment", secret=emulator.api_key).run(requests(1))
    assert results[0].ok and results[0].text == "echo: What is 0 plus 0?"


def test_comparison_end_to_end(emulator: FineTuneAPI, eval_file: Path, train_file: Path) -> None:
    eval_set = load_eval_set(eval_file, train_file)
    plan = cmp.Plan(
        runner(emulator, "gpt-4o-mini-2024-07-18"),
        runner(emulator, "ft:gpt-4o-mini-2024-07-18:org::abc123"),
        few_shot_k=3,
        rag_k=2,
    )
    seen: list[tuple[int, int]] = []
    result = cmp.compare(eval_set, plan, progress=lambda d, t: seen.append((d, t)), resamples=200)
    assert list(result.methods) == ["zero-shot", "few-shot", "rag", "tuned"]
    assert seen[-1] == (24, 24)
    tuned = result.methods["tuned"]
    assert tuned.mean("exact_match") == 1.0 and tuned.answered == 6
    assert result.methods["zero-shot"].mean("exact_match") == 0.0
    few = result.methods["few-shot"]
    assert few.prompt_tokens > result.methods["zero-shot"].prompt_tokens == tuned.prompt_tokens
    benefit = result.benefit
    assert benefit is not None
    assert benefit.quality_gain == pytest.approx(1.0 - benefit.best_alternative_score)
    assert benefit.prompt_tokens_saved["few-shot"] == pytest.approx(
        few.prompt_tokens - tuned.prompt_tokens
    )
    # gpt-4o-mini: base $0.15/$0.60, tuned $0.30/$1.20 per 1M tokens (catalog)
    zero = result.methods["zero-shot"]
    assert benefit.cost_per_1000["zero-shot"] == pytest.approx(
        1000 * (zero.prompt_tokens * 0.15 + zero.completion_tokens * 0.60) / 1e6
    )
    assert benefit.cost_per_1000["tuned"] == pytest.approx(
        1000 * (tuned.prompt_tokens * 0.30 + tuned.completion_tokens * 1.20) / 1e6
    )
    assert benefit.prices_as_of
    row = result.rows[0]
    assert row.reference == "200" and set(row.answers) == {"zero-shot", "few-shot", "rag", "tuned"}
    assert result.sorted_rows()[0].difference() is not None
    data = result.to_dict()
    assert data["rows"][0]["answers"]["tuned"]["scores"]["exact_match"] == 1.0

    # The quality goal's scale: the share of acceptable answers (no judge: exact match).
    answers = record_outcome(Answers(), result)
    assert answers.measured.tuned_score == 100.0
    best_exact = max(
        m.mean("exact_match") or 0.0 for name, m in result.methods.items() if name != "tuned"
    )
    assert answers.measured.baseline_score == round(best_exact * 100, 2)
    assert answers.measured.quality_measure == "acceptable = exact match"
    assert "exact match" in answers.measured.source
    # The prompt tokens each way needs per request reach the Benefit step.
    assert answers.measured.few_shot_prompt_tokens == round(few.prompt_tokens, 1)
    assert answers.measured.few_shot_k == few.shots
    assert answers.measured.rag_prompt_tokens == round(result.methods["rag"].prompt_tokens, 1)
    assert answers.measured.plain_prompt_tokens == round(tuned.prompt_tokens, 1)
