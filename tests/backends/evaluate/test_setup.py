"""``backends.evaluate.setup``: which model a run means, what its training cost, the judge's provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import registry
from backends.catalog import find_any_hosted
from backends.evaluate.request import EvalRequest, UsageProblem, guess_provider
from backends.evaluate.runners import HostedRunner, LocalRunner
from backends.evaluate.setup import (
    default_judge_provider,
    judge_provider,
    prepare,
    trained_output,
    training_cost,
    tuned_model,
)
from backends.hosted.errors import HostedError
from backends.runs import RunFolder, RunStore
from backends.runs.values import RunSpec, RunState
from tests.support.data_files import write_jsonl
from tests.support.evaluate import qa

BASE = "gpt-4o-mini-2024-07-18"


def local_run(tmp_path: Path, *outputs: str) -> tuple[EvalRequest, RunFolder]:
    store = RunStore(tmp_path / "ws" / "runs")
    folder = store.create(RunSpec(backend="local", model="base/model", dataset="train.jsonl"))
    for name in outputs:
        (folder.output_dir / name).mkdir(parents=True)
    request = EvalRequest(data="", model="base/model", workspace=str(tmp_path / "ws"))
    return request, folder


@pytest.mark.parametrize(
    ("outputs", "winner", "adapter"),
    [
        (("merged", "adapter", "model"), "merged", False),
        (("adapter", "model"), "adapter", True),
        (("model",), "model", False),
    ],
)
def test_a_local_runs_first_output_folder_wins(
    tmp_path: Path, outputs: tuple[str, ...], winner: str, adapter: bool
) -> None:
    request, folder = local_run(tmp_path, *outputs)
    found = trained_output(folder.output_dir)
    assert found is not None
    assert found.path == folder.output_dir / winner and found.adapter is adapter

    request.tuned = folder.run_id
    tuned = tuned_model(request, registry.LOCAL)
    runner = tuned.runner
    assert isinstance(runner, LocalRunner) and not runner.hosted
    assert tuned.trained_on == "train.jsonl" and tuned.training_cost is None
    if adapter:
        assert runner.model == "base/model" and runner.adapter == str(found.path)
    else:
        assert runner.model == str(found.path) and runner.adapter is None


def test_a_local_run_without_a_model_yet_says_so(tmp_path: Path) -> None:
    request, folder = local_run(tmp_path)
    assert trained_output(folder.output_dir) is None
    request.tuned = folder.run_id
    with pytest.raises(UsageProblem, match="has no trained model"):
        tuned_model(request, registry.LOCAL)


def test_a_hosted_run_means_its_fine_tuned_model_and_its_bill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    store = RunStore(tmp_path / "ws" / "runs")
    folder = store.create(
        RunSpec(backend="openai", model=BASE, dataset="train.jsonl"),
        status={"state": RunState.SUCCEEDED, "fine_tuned_model": "ft:x", "trained_tokens": 1e6},
    )
    request = EvalRequest(data="", model=BASE, tuned=folder.run_id, workspace=str(tmp_path / "ws"))
    tuned = tuned_model(request, "openai")
    assert isinstance(tuned.runner, HostedRunner) and tuned.runner.hosted
    assert tuned.runner.model == "ft:x"
    entry = find_any_hosted(BASE)
    assert entry is not None and entry.prices.training is not None
    assert tuned.training_cost == pytest.approx(entry.prices.training)
    assert training_cost(folder.read_spec(), folder.read_status()) == tuned.training_cost


def test_a_hosted_run_still_training_has_no_model(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "ws" / "runs")
    folder = store.create(RunSpec(backend="openai", model=BASE, dataset="train.jsonl"))
    request = EvalRequest(data="", model=BASE, tuned=folder.run_id, workspace=str(tmp_path / "ws"))
    with pytest.raises(UsageProblem, match="no fine-tuned model yet"):
        tuned_model(request, "openai")


def test_a_name_that_is_no_run_is_a_model(tmp_path: Path) -> None:
    request = EvalRequest(data="", model="base/model", workspace=str(tmp_path / "ws"))
    request.tuned = "someone/tuned-model"
    runner = tuned_model(request, registry.LOCAL).runner
    assert isinstance(runner, LocalRunner) and runner.model == "someone/tuned-model"


def test_providers_are_guessed_and_the_judge_runs_hosted() -> None:
    assert guess_provider("gpt-4o-mini") == registry.DEFAULT_HOSTED
    assert guess_provider("ft:gpt-4o-mini:org::abc") == registry.DEFAULT_HOSTED
    assert registry.is_local(guess_provider("Qwen/Qwen2.5-0.5B"))
    assert default_judge_provider("azure") == "azure"
    assert default_judge_provider(registry.LOCAL) == registry.DEFAULT_HOSTED
    request = EvalRequest(data="", model="Qwen/Qwen2.5-0.5B", judge="gpt-4.1-mini")
    with pytest.raises(UsageProblem, match="--judge-provider openai"):
        judge_provider(request, registry.LOCAL)
    request.judge_provider = "azure"
    assert judge_provider(request, registry.LOCAL) == "azure"


def test_bad_numbers_and_missing_keys_stop_before_anything_runs(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "eval.jsonl", [qa(i) for i in range(3)])
    with pytest.raises(UsageProblem, match="--concurrency must be at least 1"):
        prepare(EvalRequest(data=str(data), model=BASE, concurrency=0))
    with pytest.raises(UsageProblem, match="give --train or --split"):
        prepare(EvalRequest(data=str(data), model=BASE, train=str(data), split=0.5))
    with pytest.raises(HostedError, match="OPENAI_API_KEY"):
        prepare(EvalRequest(data=str(data), model=BASE, few_shot=0, rag=0))


def test_the_training_data_is_never_evaluated(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "eval.jsonl", [qa(i) for i in range(3)])
    store = RunStore(tmp_path / "ws" / "runs")
    folder = store.create(RunSpec(backend="local", model="base/model", dataset=str(data)))
    (folder.output_dir / "merged").mkdir(parents=True)
    request = EvalRequest(
        data=str(data),
        model="base/model",
        provider=registry.LOCAL,
        tuned=folder.run_id,
        workspace=str(tmp_path / "ws"),
    )
    with pytest.raises(UsageProblem, match="every evaluation example is in the tuned model"):
        prepare(request)


@pytest.mark.parametrize(
    ("method", "adapter", "per_million"),
    [("supervised", "lora", 0.48), ("supervised", "full", 0.54), ("dpo", "lora", 1.2)],
)
def test_a_together_runs_training_cost_is_its_catalog_price_for_objective_and_adaptation(
    tmp_path: Path, method: str, adapter: str, per_million: float
) -> None:
    store = RunStore(tmp_path / "runs")
    model = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
    folder = store.create(
        RunSpec(backend="together", model=model, dataset="t.jsonl", method=method, adapter=adapter),
        status={"state": RunState.SUCCEEDED, "trained_tokens": 2_000_000},
    )
    cost = training_cost(folder.read_spec(), folder.read_status())
    assert cost == pytest.approx(2 * per_million)


def test_a_training_cost_nobody_lists_is_unknown(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    folder = store.create(
        RunSpec(backend="nebius", model="some/unlisted-model", dataset="t.jsonl"),
        status={"state": RunState.SUCCEEDED, "trained_tokens": 2_000_000},
    )
    assert training_cost(folder.read_spec(), folder.read_status()) is None
