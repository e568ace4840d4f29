"""``status.json``'s record: ``RunStatus``, where a run stands, and its JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from backends.runs.values import RunState


@dataclass(frozen=True)
class RunStatus:
    """``status.json``: where a run stands. Written by the one process keeping the run current."""

    state: RunState = RunState.QUEUED
    pid: int | None = None
    """The local worker or the hosted job's follower."""
    job_id: str | None = None
    """The provider's job id (hosted runs)."""
    created_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None
    heartbeat_at: float | None = None
    error: str | None = None
    detail: str = ""
    """One line on what is happening now ("uploading train.jsonl", "reconnecting: 503")."""
    reconnecting: bool = False
    provider_status: str | None = None
    """The provider's own word for the state (``validating_files``...)."""
    total_steps: int | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    estimated_finish: float | None = None
    checkpoints: tuple[Mapping[str, Any], ...] = ()
    result_files: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if isinstance(value, RunState):
                value = value.value
            elif isinstance(value, tuple):
                value = [dict(v) if isinstance(v, Mapping) else v for v in value]
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunStatus:
        known = {f.name for f in fields(cls)} - {"extra"}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        values["state"] = RunState.parse(values.get("state", RunState.QUEUED.value))
        values["checkpoints"] = tuple(values.get("checkpoints") or ())
        values["result_files"] = tuple(values.get("result_files") or ())
        values["reconnecting"] = bool(values.get("reconnecting", False))
        values["detail"] = values.get("detail") or ""
        extra = {k: v for k, v in data.items() if k not in known and k != "extra"}
        return cls(**values, extra=extra)
