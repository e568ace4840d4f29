"""RunSpec, MetricPoint, RunState and RunStatus: dict round trips, tolerance, no secrets."""

from __future__ import annotations

import math

import pytest

from backends.runs import RunStatus
from backends.runs.values import AUTO, MetricPoint, RunSpec, RunState


def test_spec_round_trip_ignores_unknown_keys() -> None:
    spec = RunSpec(
        backend="openai",
        model="gpt-4o-mini",
        dataset="train.jsonl",
        dataset_sha256="ab",
        hyperparameters={"n_epochs": 3, "batch_size": "AUTO"},
        metadata={"k": 1},
        seed=3,
    )
    data = spec.to_dict()
    assert data["hyperparameters"] == {"n_epochs": 3, "batch_size": AUTO}
    assert data["metadata"] == {"k": "1"}
    assert RunSpec.from_dict({**data, "added_in_v9": True, "run_id": "x"}) == spec
    assert spec.hyper("learning_rate_multiplier") == AUTO


@pytest.mark.parametrize(
    "settings",
    [{"api_key": "sk-x"}, {"connection": {"azure_ad_token": "t"}}, {"wandb": [{"password": "p"}]}],
)
def test_spec_refuses_secrets(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="secret"):
        RunSpec(backend="openai", model="m", dataset="d", settings=settings)


def test_spec_rejects_unknown_method_and_bad_hyperparameter() -> None:
    with pytest.raises(ValueError):
        RunSpec(backend="openai", model="m", dataset="d", method="magic")
    with pytest.raises(ValueError):
        RunSpec(backend="local", model="m", dataset="d", adapter="dora")
    with pytest.raises(ValueError):
        RunSpec(backend="openai", model="m", dataset="d", hyperparameters={"n_epochs": [1]})


def test_spec_carries_the_objective_and_the_adapter_apart() -> None:
    spec = RunSpec(backend="local", model="m", dataset="d", method="supervised", adapter="qlora")
    data = spec.to_dict()
    assert (data["method"], data["adapter"]) == ("supervised", "qlora")
    assert RunSpec.from_dict(data) == spec
    hosted = RunSpec(backend="openai", model="m", dataset="d", method="dpo")
    assert hosted.to_dict()["adapter"] is None and RunSpec.from_dict(hosted.to_dict()) == hosted


@pytest.mark.parametrize(
    "older",
    [
        {"method": "supervised", "settings": {"local": {"method": "lora", "lora_r": 8}}},
        {"method": "lora"},
    ],
)
def test_an_older_run_json_with_the_adapter_as_method_still_opens(older: dict[str, object]) -> None:
    spec = RunSpec.from_dict({"backend": "local", "model": "m", "dataset": "d", **older})
    assert (spec.method, spec.adapter) == ("supervised", "lora")


def test_metric_point_keeps_unknown_keys_and_drops_non_finite() -> None:
    point = MetricPoint.from_dict({"step": 3, "train_loss": 0.5, "gpu_temp": 71})
    assert point.step == 3 and point.train_loss == 0.5
    assert point.to_dict() == {"step": 3, "train_loss": 0.5, "gpu_temp": 71}
    assert MetricPoint(step=1, train_loss=math.nan, valid_loss=1.0).to_dict() == {
        "step": 1,
        "valid_loss": 1.0,
    }


def test_run_state_terminality_and_tolerant_parse() -> None:
    assert RunState.SUCCEEDED.is_terminal and RunState.PAUSED.is_active
    assert RunState.parse("running") is RunState.RUNNING
    assert RunState.parse(RunState.FAILED) is RunState.FAILED
    assert RunState.parse("brand-new-state") is RunState.QUEUED


def test_status_round_trip_keeps_unknown_keys() -> None:
    status = RunStatus(state=RunState.RUNNING, job_id="ftjob-1", checkpoints=({"step": 2},))
    data = {**status.to_dict(), "gpu": "H100"}
    back = RunStatus.from_dict(data)
    assert back.state is RunState.RUNNING and back.checkpoints == ({"step": 2},)
    assert back.extra == {"gpu": "H100"} and back.to_dict()["gpu"] == "H100"
