"""``status.json``'s record: ``RunStatus``, where a run stands, and its JSON form."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from backends.runs.values import RunState
from backends.text import printable, printable_line

MAX_PID = 1 << 31
"""Past what a ``pid_t`` holds: a larger ``pid`` in ``status.json`` is damage."""
LATEST_TIME = 32503680000.0
"""Year 3000: a time past this (or before 1970) in ``status.json`` is damage, not a date."""

_TIMES = ("created_at", "started_at", "ended_at", "heartbeat_at", "estimated_finish")
_COUNTS = ("total_steps", "trained_tokens")
_TEXTS = ("job_id", "error", "provider_status", "fine_tuned_model")


def _shown(value: object) -> str:
    text = repr(value)
    return printable_line(text if len(text) <= 40 else f"{text[:37]}...")


def _checked(data: Mapping[str, Any]) -> dict[str, Any]:
    """The known fields of ``data`` with their types checked; ``ValueError`` names a bad one."""
    values: dict[str, Any] = {}
    state = data.get("state", RunState.QUEUED.value)
    if not isinstance(state, str):
        raise ValueError(f"state is {_shown(state)}, not a word")
    values["state"] = RunState.parse(state)
    pid = data.get("pid")
    if pid is not None and (type(pid) is not int or not 0 < pid < MAX_PID):
        raise ValueError(f"pid is {_shown(pid)}, not a process id")
    values["pid"] = pid
    for name in _TIMES:
        value = data.get(name)
        if value is not None and (type(value) not in (int, float) or not 0 <= value <= LATEST_TIME):
            raise ValueError(f"{name} is {_shown(value)}, not a time")
        values[name] = None if value is None else float(value)
    for name in _COUNTS:
        value = data.get(name)
        if type(value) is float and value.is_integer() and 0 <= value < 2**63:
            value = int(value)  # a provider may report a whole number as 1e6
        if value is not None and (type(value) is not int or value < 0):
            raise ValueError(f"{name} is {_shown(value)}, not a count")
        values[name] = value
    for name in _TEXTS:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name} is {_shown(value)}, not text")
        values[name] = None if value is None else printable(value)
    detail = data.get("detail") or ""
    if not isinstance(detail, str):
        raise ValueError(f"detail is {_shown(detail)}, not text")
    values["detail"] = printable_line(detail)
    reconnecting = data.get("reconnecting", False)
    if not isinstance(reconnecting, bool):
        raise ValueError(f"reconnecting is {_shown(reconnecting)}, not true/false")
    values["reconnecting"] = reconnecting
    checkpoints = data.get("checkpoints") or []
    if not isinstance(checkpoints, list) or not all(isinstance(c, dict) for c in checkpoints):
        raise ValueError(f"checkpoints is {_shown(checkpoints)}, not a list of objects")
    values["checkpoints"] = tuple(checkpoints)
    result_files = data.get("result_files") or []
    if not isinstance(result_files, list) or not all(isinstance(f, str) for f in result_files):
        raise ValueError(f"result_files is {_shown(result_files)}, not a list of names")
    values["result_files"] = tuple(result_files)
    return values


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
        """The status ``data`` describes; ``ValueError`` (naming the field) when a value is damaged.

        Text fields come back ``printable``: they are shown on terminals.
        """
        known = {f.name for f in fields(cls)} - {"extra"}
        extra = {k: v for k, v in data.items() if k not in known and k != "extra"}
        return cls(**_checked(data), extra=extra)
