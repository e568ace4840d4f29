"""Together AI as its API speaks: names, settings, error explanations, job states, metric rows.

Shared by the backend (``together``), its job mirror (``together_mirror``) and its data
checks (``together_data``); none of them is imported here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import Any

from backends.hosted.errors import HostedError, _explain_status, redact
from backends.hosted.settings import SecretInEnv
from backends.runs.values import MetricPoint, RunState

NAME = "together"
LABEL = "Together AI"
KEY_ENV = "TOGETHER_API_KEY"
BASE_URL_ENV = "TOGETHER_BASE_URL"
DEFAULT_BASE_URL = "https://api.together.ai"
CURSOR_FILE = ".together.json"
SUFFIX_MAX = 40
MAX_LISTED_MODELS = 300
"""The most models taken from Together's list (each costs one limits call)."""
INTEGER_HYPER = ("n_epochs", "batch_size", "n_evals", "n_checkpoints", "lora_r", "lora_alpha")
FRACTION_HYPER = ("warmup_ratio", "lora_dropout")
"""Between 0 and 1 (0 allowed); every other hyperparameter is a positive number."""

_STATES = {
    "pending": RunState.QUEUED,
    "queued": RunState.QUEUED,
    "running": RunState.RUNNING,
    "compressing": RunState.RUNNING,
    "uploading": RunState.RUNNING,
    "cancel_requested": RunState.RUNNING,
    "cancelled": RunState.CANCELLED,
    "error": RunState.FAILED,
    "user_error": RunState.FAILED,
    "completed": RunState.SUCCEEDED,
}


def run_state(status: Any) -> RunState:
    value = getattr(status, "value", status)
    return _STATES.get(str(value or "").lower(), RunState.QUEUED)


@dataclass(frozen=True)
class TogetherSettings(SecretInEnv):
    """Where the Together client connects, minus the key (saved in ``run.json``)."""

    base_url: str | None = None
    timeout_s: float = 60.0
    azure_endpoint: None = None
    """Not used: the Settings step asks only endpoint-setting backends (Azure) for one."""
    api_version: None = None

    secret_env_var = KEY_ENV

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TogetherSettings:
        env = os.environ if env is None else env
        return cls(base_url=env.get(BASE_URL_ENV) or None)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k in ("base_url", "timeout_s")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TogetherSettings:
        known = {f.name for f in fields(cls)} - {"azure_endpoint", "api_version"}
        return cls(**{k: v for k, v in data.items() if k in known})

    def where(self) -> str:
        return self.base_url or DEFAULT_BASE_URL

    def missing(self, secret: str | None = None) -> str | None:
        if self.resolve_secret(secret) is None:
            return f"No {LABEL} credential: set {KEY_ENV} or enter the key for this session."
        return None

    def make_client(self, secret: str | None = None, *, max_retries: int = 2) -> Any:
        import together

        problem = self.missing(secret)
        if problem:
            raise HostedError(problem, kind="config")
        return together.Together(
            api_key=self.resolve_secret(secret),
            base_url=self.where(),
            timeout=self.timeout_s,
            max_retries=max_retries,
        )


def explain(error: BaseException, *, secrets: Iterable[str | None] = ()) -> HostedError:
    """A ``HostedError`` for anything the ``together`` SDK raised."""
    if isinstance(error, HostedError):
        return error
    import together

    secrets = tuple(secrets)

    def clean(text: str) -> str:
        return redact(text, secrets)

    if isinstance(error, together.APITimeoutError):
        return HostedError(
            f"{LABEL} did not answer in time.", kind="timeout", hint="Retrying.", retryable=True
        )
    if isinstance(error, together.APIConnectionError):
        return HostedError(
            f"Cannot reach {LABEL}: the network is down or the address is wrong.",
            kind="network",
            hint=f"Check your connection and {BASE_URL_ENV}; it will be retried.",
            retryable=True,
        )
    if isinstance(error, together.APIStatusError):
        if error.status_code == 401:
            # The SDK words a 401 on upload as "free trial credits": it is the key.
            return HostedError(
                f"{LABEL}: API key rejected (401).",
                kind="auth",
                hint=f"Check {KEY_ENV} or the key you entered.",
                status_code=401,
            )
        return _explain_status(error, LABEL, clean)
    if isinstance(error, (together.TogetherError, ValueError)):
        return HostedError(
            f"{LABEL}: {clean(str(error))}", kind="invalid", hint="Fix the settings."
        )
    if isinstance(error, OSError):
        return HostedError(clean(f"{type(error).__name__}: {error}"), kind="io")
    return HostedError(clean(f"Unexpected {type(error).__name__}: {error}"), kind="other")


def api_time(value: Any) -> float:
    """Unix time from the API's ISO strings or datetimes (``time.time()`` when missing)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return time.time()
    else:
        return time.time()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def api_int(value: Any) -> int | None:
    """A positive whole number from an int or a numeric string (the API types vary)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip()) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def api_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


_METRIC_FIELDS = {
    "train/loss": "train_loss",
    "eval/loss": "valid_loss",
    "train/learning_rate": "learning_rate",
    "train/grad_norm": "grad_norm",
    "train/epoch": "epoch",
}


def metric_points(
    rows: Iterable[Mapping[str, Any]], *, started_at: float | None
) -> list[MetricPoint]:
    """Flat metric rows merged into one point per ``train/global_step`` (by step)."""
    merged: dict[int, dict[str, Any]] = {}
    for row in rows:
        step = api_number(row.get("train/global_step", row.get("eval/global_step")))
        if step is None:
            continue
        values = merged.setdefault(int(step), {})
        for key, field in _METRIC_FIELDS.items():
            number = api_number(row.get(key))
            if number is not None:
                values[field] = number
    points = []
    for step in sorted(merged):
        values = merged[step]
        points.append(MetricPoint(step=step, elapsed=None, **values))
    return points
