"""The fine-tuning calls a hosted backend makes, over an SDK client.

Each function takes an ``openai.OpenAI`` (or ``AzureOpenAI``) client and
lets SDK exceptions through; callers turn them into words with
``errors.explain``. Nothing here writes to disk.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.backend import ProgressCallback
from backends.runs.values import AUTO, DPO, MetricPoint, RunSpec, RunState

SUPERVISED_HYPERPARAMETERS = ("n_epochs", "batch_size", "learning_rate_multiplier")
DPO_HYPERPARAMETERS = (*SUPERVISED_HYPERPARAMETERS, "beta")

_STATE_OF_PROVIDER_STATUS = {
    "validating_files": RunState.VALIDATING,
    "pending": RunState.QUEUED,
    "notrunning": RunState.QUEUED,
    "queued": RunState.QUEUED,
    "running": RunState.RUNNING,
    "pausing": RunState.RUNNING,
    "paused": RunState.PAUSED,
    "resuming": RunState.RUNNING,
    "cancelling": RunState.RUNNING,
    "succeeded": RunState.SUCCEEDED,
    "failed": RunState.FAILED,
    "cancelled": RunState.CANCELLED,
    "canceled": RunState.CANCELLED,
}

METRIC_KEYS = (
    "train_loss",
    "valid_loss",
    "full_valid_loss",
    "train_mean_token_accuracy",
    "valid_mean_token_accuracy",
    "full_valid_mean_token_accuracy",
)


def run_state(provider_status: str | None) -> RunState:
    """The run state for a job status (OpenAI and Azure spellings)."""
    return _STATE_OF_PROVIDER_STATUS.get((provider_status or "").lower(), RunState.QUEUED)


class ProgressReader(io.RawIOBase):
    """A readable file that reports how far it has been read (the SDK uploads by reading it).

    The position is reported, not a running sum, so an upload the SDK
    retries from the start counts from zero again.
    """

    def __init__(self, path: Path, callback: ProgressCallback | None) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._callback = callback
        self._label = Path(path).name
        self._total = Path(path).stat().st_size
        self.name = str(path)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def fileno(self) -> int:
        return self._file.fileno()

    def readinto(self, buffer: Any) -> int:
        count = self._file.readinto(buffer)
        if count:
            self._sent()
        return count or 0

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        if data:
            self._sent()
        return data

    def _sent(self) -> None:
        """Bytes handed to the client so far; never "all of them": the upload is done only
        when the provider has answered (``upload_file`` says so, once)."""
        if self._callback is not None:
            self._callback(
                self._label, min(self._file.tell(), max(0, self._total - 1)), self._total
            )

    def close(self) -> None:
        self._file.close()
        super().close()


def upload_file(
    client: Any,
    path: Path,
    *,
    progress: ProgressCallback | None = None,
    purpose: str = "fine-tune",
) -> str:
    """Upload a training/validation file; returns its file id."""
    path = Path(path)
    reader = ProgressReader(path, progress)
    try:
        uploaded = client.files.create(file=(path.name, reader), purpose=purpose)
    finally:
        reader.close()
    if progress is not None:
        progress(path.name, reader._total, reader._total)
    return str(uploaded.id)


def _hyper_payload(spec: RunSpec, names: tuple[str, ...]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for name in names:
        value = spec.hyper(name)
        if value == AUTO:
            continue
        payload[name] = int(value) if name in ("n_epochs", "batch_size") else float(value)
    return payload


def job_create_params(
    spec: RunSpec, *, training_file: str, validation_file: str | None
) -> dict[str, Any]:
    """Keyword arguments for ``client.fine_tuning.jobs.create`` from a spec and uploaded file ids."""
    if spec.method == DPO:
        method: dict[str, Any] = {
            "type": "dpo",
            "dpo": {"hyperparameters": _hyper_payload(spec, DPO_HYPERPARAMETERS)},
        }
    else:
        method = {
            "type": "supervised",
            "supervised": {"hyperparameters": _hyper_payload(spec, SUPERVISED_HYPERPARAMETERS)},
        }
    params: dict[str, Any] = {"model": spec.model, "training_file": training_file, "method": method}
    if validation_file:
        params["validation_file"] = validation_file
    if spec.suffix:
        params["suffix"] = spec.suffix
    if spec.seed is not None:
        params["seed"] = int(spec.seed)
    if spec.metadata:
        params["metadata"] = dict(spec.metadata)
    wandb = spec.settings.get("wandb")
    if isinstance(wandb, dict) and wandb.get("project"):
        allowed = {
            k: v for k, v in wandb.items() if k in ("project", "name", "entity", "tags") and v
        }
        params["integrations"] = [{"type": "wandb", "wandb": allowed}]
    training_type = spec.settings.get("training_type")
    if training_type:
        params["extra_body"] = {"trainingType": str(training_type)}
    return params


def create_job(client: Any, params: dict[str, Any]) -> Any:
    return client.fine_tuning.jobs.create(**params)


def iter_new_events(
    client: Any, job_id: str, *, last_event_id: str | None, page_size: int = 100
) -> Iterator[Any]:
    """Events newer than ``last_event_id``, oldest first.

    The API lists newest first and pages backwards with ``after``; this walks
    pages until it meets the last event already seen, then replays what it
    collected in the order things happened.
    """
    collected: list[Any] = []
    after: str | None = None
    while True:
        kwargs: dict[str, Any] = {"limit": page_size}
        if after:
            kwargs["after"] = after
        page = client.fine_tuning.jobs.list_events(job_id, **kwargs)
        batch = list(page.data)
        met_known = False
        for event in batch:
            if last_event_id is not None and event.id == last_event_id:
                met_known = True
                break
            collected.append(event)
        if met_known or not batch or page.has_more is False:
            break
        after = batch[-1].id
    return reversed(collected)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def metric_point(event: Any, *, started_at: float | None = None) -> MetricPoint | None:
    """The ``MetricPoint`` in a ``metrics`` event, or ``None`` for other events."""
    data = getattr(event, "data", None)
    if (
        getattr(event, "type", None) != "metrics"
        or not isinstance(data, dict)
        or "step" not in data
    ):
        return None
    created = float(event.created_at)
    values: dict[str, Any] = {key: _number(data.get(key)) for key in METRIC_KEYS}
    total = data.get("total_steps")
    step = data["step"]
    return MetricPoint(
        step=int(step),
        total_steps=int(total) if isinstance(total, (int, float)) else None,
        epoch=_number(data.get("epoch")),
        learning_rate=_number(data.get("learning_rate")),
        time=created,
        elapsed=created - started_at if started_at is not None else None,
        **values,
    )


def checkpoint_record(checkpoint: Any) -> dict[str, Any]:
    metrics = checkpoint.metrics
    metric_dict = (
        metrics.model_dump(exclude_none=True)
        if hasattr(metrics, "model_dump")
        else dict(metrics or {})
    )
    return {
        "id": checkpoint.id,
        "step": int(checkpoint.step_number),
        "model": checkpoint.fine_tuned_model_checkpoint,
        "created_at": checkpoint.created_at,
        "metrics": metric_dict,
    }


def list_checkpoints(client: Any, job_id: str) -> list[dict[str, Any]]:
    """All checkpoints of a job, by step."""
    page = client.fine_tuning.jobs.checkpoints.list(job_id, limit=100)
    records = [checkpoint_record(c) for c in page]  # iterating a page follows the cursor
    return sorted(records, key=lambda r: r["step"])


@dataclass(frozen=True)
class JobSummary:
    """One row of "recent jobs"."""

    job_id: str
    model: str
    status: str
    state: RunState
    created_at: int
    fine_tuned_model: str | None
    suffix: str | None = None

    @classmethod
    def of(cls, job: Any) -> JobSummary:
        return cls(
            job_id=job.id,
            model=job.model,
            status=job.status,
            state=run_state(job.status),
            created_at=int(job.created_at),
            fine_tuned_model=job.fine_tuned_model,
            suffix=getattr(job, "suffix", None),
        )


def list_jobs(client: Any, *, limit: int = 20) -> list[JobSummary]:
    """The most recent jobs, newest first."""
    page = client.fine_tuning.jobs.list(limit=limit)
    return [JobSummary.of(job) for job in page.data][:limit]


def fine_tuned_models(jobs: list[JobSummary]) -> list[JobSummary]:
    """The jobs that left a fine-tuned model (the account's models, which keep serving)."""
    return [job for job in jobs if job.fine_tuned_model]


def job_control(client: Any, job_id: str, action: str) -> Any:
    """``cancel``, ``pause`` or ``resume`` a job; returns the job as the provider now sees it."""
    calls: dict[str, Callable[[str], Any]] = {
        "cancel": client.fine_tuning.jobs.cancel,
        "pause": client.fine_tuning.jobs.pause,
        "resume": client.fine_tuning.jobs.resume,
    }
    return calls[action](job_id)


def download_file(client: Any, file_id: str) -> tuple[str, bytes]:
    """A file's name and content; fine-tuning result files arrive base64-encoded and are decoded."""
    import base64
    import binascii

    name = f"{file_id}.csv"
    try:
        meta = client.files.retrieve(file_id)
        name = Path(str(meta.filename)).name or name
    except Exception:  # the name is a nicety: the content is what matters
        pass
    content = client.files.content(file_id).content
    stripped = content.strip()
    if stripped and b"," not in stripped[:200]:
        try:
            decoded = base64.b64decode(stripped, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if decoded.startswith(b"step"):
            content = decoded
    return name, content
