"""The emulator's endpoints: one function per route of the fine-tuning, files, models and chat API.

Each takes ``(api, segments, query, body, headers)`` and returns ``(status, payload)``;
``ROUTES`` maps ``(method, segment count, first segment, last segment or "*")`` to one.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.fakes.fake_jobs import CLOCK_START, FakeJob

if TYPE_CHECKING:
    from tests.fakes.finetune_api import FineTuneAPI


def error_body(
    message: str,
    *,
    code: str | None,
    type_: str = "invalid_request_error",
    param: str | None = None,
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "code": code, "param": param}}


def _page(
    items: list[dict[str, Any]], query: dict[str, str], default_limit: int = 20
) -> dict[str, Any]:
    """Newest-first cursor paging over ``items`` (given oldest first)."""
    newest_first = list(reversed(items))
    after = query.get("after")
    if after:
        ids = [item["id"] for item in newest_first]
        newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
    limit = int(query.get("limit", default_limit))
    return {"object": "list", "data": newest_first[:limit], "has_more": len(newest_first) > limit}


Answer = tuple[int, Any]


def _upload(
    api: FineTuneAPI, segments: list[str], query: dict[str, str], body: bytes, headers: Any
) -> Answer:
    raw = b"Content-Type: " + headers["Content-Type"].encode() + b"\r\n\r\n" + body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    fields: dict[str, Any] = {}
    filename = "upload.jsonl"
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename():
            filename = part.get_filename()
        fields[str(name)] = part.get_payload(decode=True)
    if "file" not in fields:
        return 400, error_body("Missing file", code="missing_file", param="file")
    purpose = (fields.get("purpose") or b"fine-tune").decode()
    return 200, api.add_file(filename, fields["file"], purpose)


def _file(api: FineTuneAPI, segments: list[str], *rest: Any) -> Answer:
    found = api.files.get(segments[1])
    return (
        (200, found.meta)
        if found
        else (404, error_body(f"No such File object: {segments[1]}", code="file_not_found"))
    )


def _file_content(api: FineTuneAPI, segments: list[str], *rest: Any) -> Answer:
    found = api.files.get(segments[1])
    return (
        (200, found.content)
        if found
        else (404, error_body(f"No such File object: {segments[1]}", code="file_not_found"))
    )


def _create_job(
    api: FineTuneAPI, segments: list[str], query: dict[str, str], body: bytes, headers: Any
) -> Answer:
    if api.refuse_training:
        return 403, error_body(
            "Fine-tuning is not available for your organization.",
            code="training_not_available",
        )
    params = json.loads(body or b"{}")
    for key in ("training_file", "validation_file"):
        if params.get(key) and params[key] not in api.files:
            return 400, error_body(f"invalid {key}: {params[key]}", code="invalid_file", param=key)
    if not params.get("model"):
        return 400, error_body("model is required", code="missing_model", param="model")
    job = FakeJob(api, params)
    with api.lock:
        api.jobs[job.id] = job
    return 200, job.to_dict()


def _list_jobs(api: FineTuneAPI, segments: list[str], query: dict[str, str], *rest: Any) -> Answer:
    with api.lock:
        jobs = [job.to_dict() for job in api.jobs.values()]
    return 200, _page(jobs, query)


def _get_job(
    api: FineTuneAPI, segments: list[str], *rest: Any
) -> tuple[FakeJob | None, Answer | None]:
    job = api.jobs.get(segments[2])
    if job is None:
        return None, (
            404,
            error_body(f"Could not find fine-tune: {segments[2]}", code="fine_tune_not_found"),
        )
    return job, None


def _retrieve_job(api: FineTuneAPI, segments: list[str], *rest: Any) -> Answer:
    job, missing = _get_job(api, segments)
    if job is None:
        return missing  # type: ignore[return-value]
    with api.lock:
        if api.auto_advance:
            job.tick()
        return 200, job.to_dict()


def _control(api: FineTuneAPI, segments: list[str], *rest: Any) -> Answer:
    job, missing = _get_job(api, segments)
    if job is None:
        return missing  # type: ignore[return-value]
    with api.lock:
        problem = job.control(segments[3])
        if problem:
            return 400, error_body(problem, code="invalid_state")
        return 200, job.to_dict()


def _events(api: FineTuneAPI, segments: list[str], query: dict[str, str], *rest: Any) -> Answer:
    job, missing = _get_job(api, segments)
    if job is None:
        return missing  # type: ignore[return-value]
    with api.lock:
        return 200, _page(list(job.events), query)


def _checkpoints(
    api: FineTuneAPI, segments: list[str], query: dict[str, str], *rest: Any
) -> Answer:
    job, missing = _get_job(api, segments)
    if job is None:
        return missing  # type: ignore[return-value]
    with api.lock:
        return 200, _page(list(job.checkpoints), query, default_limit=10)


def _models(api: FineTuneAPI, *rest: Any) -> Answer:
    names = ["gpt-4o-mini-2024-07-18", "gpt-4.1-mini-2025-04-14"]
    with api.lock:
        names += [j.fine_tuned_model for j in api.jobs.values() if j.fine_tuned_model]
        names += api.known_models
    data = [
        {"id": n, "object": "model", "created": CLOCK_START, "owned_by": "system"} for n in names
    ]
    return 200, {"object": "list", "data": data}


def _model(api: FineTuneAPI, segments: list[str], *rest: Any) -> Answer:
    models = {m["id"]: m for m in _models(api)[1]["data"]}
    found = models.get(segments[1])
    return (
        (200, found)
        if found
        else (404, error_body(f"The model '{segments[1]}' does not exist", code="model_not_found"))
    )


def default_chat_answer(model: str, messages: list[dict[str, Any]]) -> str:
    users = [m.get("content") for m in messages if m.get("role") == "user"]
    last = users[-1] if users and isinstance(users[-1], str) else ""
    return f"echo: {last}"


def count_words(messages: list[dict[str, Any]]) -> int:
    """The emulator's prompt-token count: each message's words + 3, plus 3."""
    total = 3
    for message in messages:
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content)
        total += 3 + len(text.split())
    return total


@dataclass
class EventStream:
    """A ``text/event-stream`` answer: each event a ``data:`` line, ``delay_s`` apart."""

    events: list[Any]
    delay_s: float = 0.0


def chat_chunks(
    api: FineTuneAPI, model: str, answer: str, usage: dict[str, int], include_usage: bool
) -> list[Any]:
    """The ``chat.completion.chunk`` objects OpenAI streams for ``answer``, then ``[DONE]``.

    One chunk per word (with its trailing space), like the real service: first the
    role, then the content pieces, then the finish reason; with ``include_usage``
    every chunk carries ``usage: null`` and a last chunk with no choices has it.
    """
    chunk_id, created = api.next_id("chatcmpl"), api.now()

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if include_usage:
            body["usage"] = None
        return body

    events: list[Any] = [chunk({"role": "assistant", "content": "", "refusal": None})]
    events += [chunk({"content": piece}) for piece in re.findall(r"\s*\S+\s*", answer)]
    events.append(chunk({}, "stop"))
    if include_usage:
        last = chunk({})
        last["choices"], last["usage"] = [], usage
        events.append(last)
    return [*events, "[DONE]"]


def _chat(
    api: FineTuneAPI, segments: list[str], query: dict[str, str], body: bytes, headers: Any
) -> Answer:
    params = json.loads(body or b"{}")
    model = params.get("model") or (segments[1] if segments[0] == "deployments" else "")
    messages = params.get("messages")
    if not model:
        return 400, error_body("model is required", code="missing_model", param="model")
    if not isinstance(messages, list) or not messages:
        return 400, error_body("messages must be a non-empty list", code=None, param="messages")
    with api.lock:
        api.chat_in_flight += 1
        api.chat_max_in_flight = max(api.chat_max_in_flight, api.chat_in_flight)
        api.chat_calls.append(params)
    try:
        if api.chat_delay_s:
            time.sleep(api.chat_delay_s)
        answer = (api.chat_responder or default_chat_answer)(model, messages)
    finally:
        with api.lock:
            api.chat_in_flight -= 1
    prompt_tokens = count_words(messages)
    completion_tokens = len(answer.split())
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if params.get("stream"):
        include_usage = bool((params.get("stream_options") or {}).get("include_usage"))
        chunks = chat_chunks(api, model, answer, usage, include_usage)
        return 200, EventStream(chunks, api.chat_chunk_delay_s)
    return 200, {
        "id": api.next_id("chatcmpl"),
        "object": "chat.completion",
        "created": api.now(),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


ROUTES: dict[tuple[str, int, str, str], Any] = {
    ("POST", 2, "chat", ""): _chat,
    ("POST", 4, "deployments", "completions"): _chat,
    ("POST", 1, "files", ""): _upload,
    ("GET", 2, "files", "*"): _file,
    ("GET", 3, "files", "content"): _file_content,
    ("POST", 2, "fine_tuning", ""): _create_job,
    ("GET", 2, "fine_tuning", ""): _list_jobs,
    ("GET", 3, "fine_tuning", "*"): _retrieve_job,
    ("POST", 4, "fine_tuning", "cancel"): _control,
    ("POST", 4, "fine_tuning", "pause"): _control,
    ("POST", 4, "fine_tuning", "resume"): _control,
    ("GET", 4, "fine_tuning", "events"): _events,
    ("GET", 4, "fine_tuning", "checkpoints"): _checkpoints,
    ("GET", 1, "models", ""): _models,
    ("GET", 2, "models", "*"): _model,
}
