"""The scripted lifecycle of an emulated fine-tuning job (see ``finetune_api``)."""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.finetune_api import FineTuneAPI

CLOCK_START = 1_790_000_000
"""The emulator's clock (Unix seconds) before its first tick."""

TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass
class Script:
    """How every job created on the emulator progresses, one tick at a time."""

    total_steps: int = 12
    steps_per_tick: int = 1
    eval_every: int = 4
    checkpoint_every: int = 6
    validating_ticks: int = 1
    queued_ticks: int = 1
    tokens_per_step: int = 1000
    fail_at_step: int | None = None
    failure: dict[str, Any] = field(
        default_factory=lambda: {
            "code": "invalid_training_file",
            "message": "The job failed due to an invalid training file: line 3 has no assistant message.",
            "param": "training_file",
        }
    )


def train_loss(step: int, total: int) -> float:
    return round(2.0 * math.exp(-3.0 * step / total) + 0.2, 6)


class FakeJob:
    def __init__(self, api: FineTuneAPI, params: dict[str, Any]) -> None:
        self.api = api
        self.script = api.script
        self.id = api.next_id("ftjob")
        self.params = params
        self.created_at = api.now()
        self.status = "validating_files"
        self.step = 0
        self.ticks_in_status = 0
        self.events: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.metrics_rows: list[dict[str, Any]] = []
        self.fine_tuned_model: str | None = None
        self.trained_tokens: int | None = None
        self.finished_at: int | None = None
        self.result_files: list[str] = []
        self.error: dict[str, Any] | None = None
        self._event("info", f"Validating training file: {params.get('training_file')}")

    # --- events -----------------------------------------------------------
    def _event(self, level: str, message: str, data: dict[str, Any] | None = None) -> None:
        event_id = self.api.next_id("ftevent")
        self.events.append(
            {
                "object": "fine_tuning.job.event",
                "id": event_id,
                "created_at": self.api.now(),
                "level": level,
                "message": message,
                "data": data or {},
                "type": "metrics" if data else "message",
            }
        )

    # --- the script ---------------------------------------------------------
    def tick(self) -> None:
        if self.status in TERMINAL or self.status == "paused":
            return
        self.ticks_in_status += 1
        if (
            self.status == "validating_files"
            and self.ticks_in_status >= self.script.validating_ticks
        ):
            self._move("queued")
            self._event("info", "Files validated, moving job to queued state")
        elif self.status == "queued" and self.ticks_in_status >= self.script.queued_ticks:
            self._move("running")
            self._event("info", "Fine-tuning job started")
        elif self.status == "running":
            if self.step >= self.script.total_steps:
                self._succeed()
                return
            for _ in range(self.script.steps_per_tick):
                if self.step >= self.script.total_steps:
                    break
                self._step()
                if self.status == "failed":
                    return

    def _move(self, status: str) -> None:
        self.status = status
        self.ticks_in_status = 0

    def _step(self) -> None:
        self.step += 1
        step, total = self.step, self.script.total_steps
        if self.script.fail_at_step is not None and step >= self.script.fail_at_step:
            self.error = dict(self.script.failure)
            self._event("error", self.error["message"])
            self._move("failed")
            self.finished_at = self.api.now()
            return
        loss = train_loss(step, total)
        data: dict[str, Any] = {
            "step": step,
            "train_loss": loss,
            "train_mean_token_accuracy": round(1.0 - loss / 3.0, 6),
            "total_steps": total,
        }
        has_validation = bool(self.params.get("validation_file"))
        if has_validation and step % self.script.eval_every == 0:
            data["valid_loss"] = round(loss + 0.1, 6)
            data["valid_mean_token_accuracy"] = round(1.0 - (loss + 0.1) / 3.0, 6)
        if has_validation and step == total:
            data["full_valid_loss"] = round(loss + 0.12, 6)
            data["full_valid_mean_token_accuracy"] = round(1.0 - (loss + 0.12) / 3.0, 6)
        message = f"Step {step}/{total}: training loss={loss:.4f}"
        if "valid_loss" in data:
            message += f", validation loss={data['valid_loss']:.4f}"
        self._event("info", message, data)
        self.metrics_rows.append(data)
        if step % self.script.checkpoint_every == 0 and step < total:
            self._checkpoint(step, data)

    def _checkpoint(self, step: int, data: dict[str, Any]) -> None:
        base = self._model_name()
        checkpoint_id = self.api.next_id("ftckpt")
        self.checkpoints.append(
            {
                "object": "fine_tuning.job.checkpoint",
                "id": checkpoint_id,
                "created_at": self.api.now(),
                "fine_tuned_model_checkpoint": f"{base}:ckpt-step-{step}",
                "fine_tuning_job_id": self.id,
                "step_number": step,
                "metrics": {k: v for k, v in data.items() if k != "total_steps"},
            }
        )
        self._event("info", f"Checkpoint created at step {step}")

    def _model_name(self) -> str:
        suffix = self.params.get("suffix") or ""
        return f"ft:{self.params['model']}:{self.api.organization}:{suffix}:{self.id[-6:]}"

    def _succeed(self) -> None:
        self.fine_tuned_model = self._model_name()
        self.trained_tokens = self.script.tokens_per_step * self.step
        meta = self.api.add_file(
            "step_metrics.csv", result_csv(self.metrics_rows), "fine-tune-results"
        )
        self.result_files = [meta["id"]]
        self._event("info", f"New fine-tuned model created: {self.fine_tuned_model}")
        self._event("info", "The job has successfully completed")
        self._move("succeeded")
        self.finished_at = self.api.now()

    def control(self, action: str) -> str | None:
        """Apply cancel/pause/resume; returns why not, or None."""
        if action == "cancel":
            if self.status in TERMINAL:
                return f"Job {self.id} has already {self.status}."
            self._move("cancelled")
            self.finished_at = self.api.now()
            self._event("info", "Fine-tuning job cancelled")
        elif action == "pause":
            if self.status != "running":
                return f"Only running jobs can be paused (job is {self.status})."
            self._move("paused")
            self._event("info", "Fine-tuning job paused")
        elif action == "resume":
            if self.status != "paused":
                return f"Only paused jobs can be resumed (job is {self.status})."
            self._move("running")
            self._event("info", "Fine-tuning job resumed")
        return None

    def to_dict(self) -> dict[str, Any]:
        method = self.params.get("method") or {
            "type": "supervised",
            "supervised": {"hyperparameters": {}},
        }
        method_type = method.get("type", "supervised")
        hyper = dict((method.get(method_type) or {}).get("hyperparameters") or {})
        shown = {
            "n_epochs": hyper.get("n_epochs", 3),
            "batch_size": hyper.get("batch_size", 1),
            "learning_rate_multiplier": hyper.get("learning_rate_multiplier", 1.8),
        }
        if method_type == "dpo":
            shown["beta"] = hyper.get("beta", 0.1)
        remaining = self.script.total_steps - self.step
        return {
            "object": "fine_tuning.job",
            "id": self.id,
            "created_at": self.created_at,
            "error": self.error,
            "fine_tuned_model": self.fine_tuned_model,
            "finished_at": self.finished_at,
            "hyperparameters": {k: v for k, v in shown.items() if k != "beta"},
            "method": {"type": method_type, method_type: {"hyperparameters": shown}},
            "model": self.params["model"],
            "organization_id": self.api.organization,
            "result_files": self.result_files,
            "seed": self.params.get("seed", 42),
            "status": self.status,
            "trained_tokens": self.trained_tokens,
            "training_file": self.params["training_file"],
            "validation_file": self.params.get("validation_file"),
            "estimated_finish": self.api.now() + remaining * 10
            if self.status == "running"
            else None,
            "integrations": self.params.get("integrations") or [],
            "metadata": self.params.get("metadata"),
            "suffix": self.params.get("suffix"),
            "user_provided_suffix": self.params.get("suffix"),
            "training_type": self.params.get("trainingType"),
        }


def result_csv(rows: list[dict[str, Any]]) -> bytes:
    """The result file as OpenAI serves it: a CSV of the steps, base64-encoded."""
    header = "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
    lines = [header] + [
        f"{r['step']},{r['train_loss']:.5f},{r['train_mean_token_accuracy']:.5f},"
        f"{r.get('valid_loss', '')},{r.get('valid_mean_token_accuracy', '')}"
        for r in rows
    ]
    return base64.b64encode(("\n".join(lines) + "\n").encode())
