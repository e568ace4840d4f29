"""The local runner with the tiny in-process model (no Hub access)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.evaluate import compare as cmp
from backends.evaluate.prompts import load_eval_set
from backends.evaluate.runners import LocalRunner, Request
from tests.support.data_files import write_jsonl
from tests.support.tiny_model import toy_example

pytest.importorskip("transformers", reason="the [local] extra is not installed")


def test_local_runner_generates_in_batches(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    runner = LocalRunner(str(tiny_model), batch_size=2, max_new_tokens=4, device="cpu")
    messages = [toy_example(i)["messages"][:-1] for i in range(3)]
    seen = []
    results = runner.run(
        [Request(f"r/{i}", list(m)) for i, m in enumerate(messages)], on_result=seen.append
    )
    assert len(seen) == 3 and all(r is not None and r.ok for r in results)
    for result in results:
        assert 1 <= result.completion_tokens <= 4
        assert result.prompt_tokens > 5
        assert result.latency_s is not None
    # greedy: the same prompt gives the same answer
    again = runner.run([Request("again", list(messages[0]))])
    assert again[0].text == results[0].text


def test_local_comparison_with_cancel_before_start(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    evaluate = write_jsonl(tmp_path / "eval.jsonl", [toy_example(i) for i in range(2)])
    train = write_jsonl(tmp_path / "train.jsonl", [toy_example(i) for i in range(2, 10)])
    eval_set = load_eval_set(evaluate, train)
    base = LocalRunner(str(tiny_model), batch_size=4, max_new_tokens=3, device="cpu")
    plan = cmp.Plan(base, base, few_shot_k=2, rag_k=1)
    result = cmp.compare(eval_set, plan, resamples=50)
    assert list(result.methods) == ["zero-shot", "few-shot", "rag", "tuned"]
    assert all(m.answered == 2 for m in result.methods.values())
    assert result.methods["few-shot"].prompt_tokens > result.methods["zero-shot"].prompt_tokens
    assert result.benefit is not None and result.benefit.cost_per_1000["tuned"] is None

    cancel = threading.Event()
    cancel.set()
    stopped = cmp.compare(eval_set, plan, cancel=cancel)
    assert stopped.cancelled and stopped.methods == {}


def test_base_plus_lora_adapter_folder(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("peft")
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    peft_model = get_peft_model(
        model, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"])
    )
    adapter = tmp_path / "adapter"
    peft_model.save_pretrained(str(adapter))
    runner = LocalRunner(str(adapter), max_new_tokens=2, device="cpu")
    assert runner.adapter == str(adapter) and runner.model == str(tiny_model)
    result = runner.run([Request("a", list(toy_example(0)["messages"][:-1]))])
    assert result[0] is not None and result[0].ok
