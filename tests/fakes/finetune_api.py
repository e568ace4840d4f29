"""A local emulator of the OpenAI / Azure OpenAI fine-tuning API, for tests driven by the real SDK.

Real HTTP on 127.0.0.1 (a free port), stdlib only. It answers the calls the
``openai`` SDK makes for fine-tuning:

    POST /files (multipart)          GET /files/{id}, /files/{id}/content
    POST /fine_tuning/jobs           GET /fine_tuning/jobs[?after&limit]
    GET  /fine_tuning/jobs/{id}      POST /fine_tuning/jobs/{id}/cancel|pause|resume
    GET  /fine_tuning/jobs/{id}/events[?after&limit]       (newest first, cursor pages)
    GET  /fine_tuning/jobs/{id}/checkpoints[?after&limit]
    GET  /models, /models/{id}
    POST /chat/completions           (and Azure's /deployments/{name}/chat/completions)

under three URL shapes: OpenAI ``/v1/...`` (``Authorization: Bearer``),
Azure ``/openai/...?api-version=`` (``api-key`` header, or a bearer Entra
token) and Azure's v1 route ``/openai/v1/...``.

Jobs follow a deterministic script, one *tick* at a time: validating_files →
queued → running (``steps_per_tick`` metrics events per tick, validation
every ``eval_every`` steps, a checkpoint every ``checkpoint_every``) →
succeeded with a base64 CSV result file, as OpenAI serves it. A tick happens
each time a client retrieves the job (``auto_advance``) or when a test calls
``advance``: the job never moves while nobody is watching, so tests do not
depend on timing. Faults are injected with ``inject`` (status, retry-after,
dropped connections) and ``refuse_training`` (403 ``training_not_available``).

Chat completions are deterministic: ``chat_responder(model, messages)`` gives
the answer (default: ``echo: `` + the last user turn), usage counts words
(each message's words + 3, plus 3 for the reply's priming; the answer's
words), ``chat_delay_s`` holds each answer a while so tests can see how many
requests are in flight at once (``chat_max_in_flight``). A 429 with
retry-after is ``inject(429, path_contains="/chat/completions", retry_after=...)``.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.fake_jobs import FakeJob, Script

CLOCK_START = 1_790_000_000


@dataclass
class Fault:
    status: int = 500
    times: int = 1
    path_contains: str = ""
    method: str = ""
    retry_after: float | None = None
    code: str | None = None
    message: str = "injected fault"
    drop: bool = False
    """Close the connection without answering (a network drop)."""

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and self.path_contains in path
            and (not self.method or self.method == method)
        )


@dataclass
class _File:
    meta: dict[str, Any]
    content: bytes


@dataclass
class FineTuneAPI:
    """The emulator. ``with FineTuneAPI() as api:`` starts and stops it."""

    api_key: str = "sk-test-emulator-key-0123456789abcdef"
    entra_token: str = "entra-test-token-abcdefghijklmnop"
    script: Script = field(default_factory=Script)
    auto_advance: bool = True
    refuse_training: bool = False
    organization: str = "org-emulator"
    chat_responder: Callable[[str, list[dict[str, Any]]], str] | None = None
    chat_delay_s: float = 0.0

    def __post_init__(self) -> None:
        self.files: dict[str, _File] = {}
        self.jobs: dict[str, FakeJob] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self._counter = 0
        self.chat_calls: list[dict[str, Any]] = []
        self.chat_in_flight = 0
        self.chat_max_in_flight = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------
    def start(self) -> FineTuneAPI:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.emulator = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FineTuneAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        assert self._server is not None, "emulator not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """For ``OpenAI(base_url=...)``."""
        return f"{self.origin}/v1"

    @property
    def azure_endpoint(self) -> str:
        """For ``AzureOpenAI(azure_endpoint=...)``."""
        return self.origin

    @property
    def azure_v1_base_url(self) -> str:
        return f"{self.origin}/openai/v1/"

    # --- control from tests ------------------------------------------------
    def inject(self, status: int = 500, **kwargs: Any) -> Fault:
        fault = Fault(status=status, **kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def advance(self, job_id: str, ticks: int = 1) -> None:
        with self.lock:
            for _ in range(ticks):
                self.jobs[job_id].tick()

    def run_to_end(self, job_id: str, max_ticks: int = 10_000) -> None:
        with self.lock:
            job = self.jobs[job_id]
            for _ in range(max_ticks):
                if job.status in ("succeeded", "failed", "cancelled"):
                    return
                job.tick()

    def next_id(self, prefix: str) -> str:
        with self.lock:
            self._counter += 1
            return f"{prefix}-{self._counter:06d}"

    def now(self) -> int:
        with self.lock:
            return CLOCK_START + self._counter

    def add_file(self, filename: str, content: bytes, purpose: str) -> dict[str, Any]:
        file_id = self.next_id("file")
        meta = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": self.now(),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        with self.lock:
            self.files[file_id] = _File(meta, content)
        return meta


def _error(
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # --- plumbing ---------------------------------------------------------
    @property
    def api(self) -> FineTuneAPI:
        return self.server.emulator

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header(
            "Content-Type",
            "application/octet-stream" if isinstance(payload, bytes) else "application/json",
        )
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[str, str, dict[str, str]] | None:
        """(flavour, path under the API root, query) or None after answering an error."""
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path
        if path.startswith("/openai/v1/"):
            return "azure-v1", path[len("/openai/v1") :], query
        if path.startswith("/openai/"):
            if "api-version" not in query:
                self._send(404, {"error": {"code": "404", "message": "Resource not found"}})
                return None
            return "azure", path[len("/openai") :], query
        if path.startswith("/v1/"):
            return "openai", path[len("/v1") :], query
        self._send(404, _error(f"Unknown path {path}", code="unknown_url"))
        return None

    def _authorised(self, flavour: str) -> bool:
        bearer = self.headers.get("Authorization", "")
        presented = bearer[7:] if bearer.startswith("Bearer ") else None
        api_key = self.headers.get("api-key")
        if flavour == "openai":
            ok = presented == self.api.api_key
        elif flavour == "azure":
            ok = api_key == self.api.api_key or presented == self.api.entra_token
        else:
            ok = api_key == self.api.api_key or presented in (
                self.api.api_key,
                self.api.entra_token,
            )
        if ok:
            return True
        shown = presented or api_key or ""
        if flavour == "openai":
            masked = f"{shown[:3]}*****{shown[-4:]}" if len(shown) > 8 else "(none)"
            self._send(
                401,
                _error(
                    f"Incorrect API key provided: {masked}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    code="invalid_api_key",
                ),
            )
        else:
            self._send(
                401,
                {
                    "error": {
                        "code": "401",
                        "message": "Access denied due to invalid subscription key or wrong API endpoint.",
                    }
                },
            )
        return False

    def _fault(self, method: str, path: str) -> bool:
        with self.api.lock:
            fault = next((f for f in self.api.faults if f.matches(method, path)), None)
            if fault is None:
                return False
            fault.times -= 1
        if fault.drop:
            self.close_connection = True
            self.connection.close()
            return True
        headers = {}
        if fault.retry_after is not None:
            headers["retry-after-ms"] = str(int(fault.retry_after * 1000))
            headers["retry-after"] = str(max(1, math.ceil(fault.retry_after)))
        self._send(fault.status, _error(fault.message, code=fault.code), headers)
        return True

    def _dispatch(self, method: str) -> None:
        routed = self._route()
        if routed is None:
            return
        flavour, path, query = routed
        body = self._body() if method == "POST" else b""
        with self.api.lock:
            self.api.requests.append((method, path))
        if self._fault(method, path) or not self._authorised(flavour):
            return
        segments = [s for s in path.split("/") if s]
        handler = _ROUTES.get(
            (
                method,
                len(segments),
                segments[0] if segments else "",
                segments[-1] if len(segments) > 2 else "",
            )
        )
        if handler is None:
            handler = _ROUTES.get((method, len(segments), segments[0] if segments else "", "*"))
        if handler is None:
            self._send(404, _error(f"Unknown route {method} {path}", code="unknown_url"))
            return
        status, payload = handler(self.api, segments, query, body, self.headers)
        self._send(status, payload)


# --- the endpoints ---------------------------------------------------------
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
        return 400, _error("Missing file", code="missing_file", param="file")
    purpose = (fields.get("purpose") or b"fine-tune").decode()
    return 200, api.add_file(filename, fields["file"], purpose)


def _file(api: FineTuneAPI, segments: list[str], *rest: Any) -> Answer:
    found = api.files.get(segments[1])
    return (
        (200, found.meta)
        if found
        else (404, _error(f"No such File object: {segments[1]}", code="file_not_found"))
    )


def _file_content(api: FineTuneAPI, segments: list[str], *rest: Any) -> Answer:
    found = api.files.get(segments[1])
    return (
        (200, found.content)
        if found
        else (404, _error(f"No such File object: {segments[1]}", code="file_not_found"))
    )


def _create_job(
    api: FineTuneAPI, segments: list[str], query: dict[str, str], body: bytes, headers: Any
) -> Answer:
    if api.refuse_training:
        return 403, _error(
            "Fine-tuning is not available for your organization.",
            code="training_not_available",
        )
    params = json.loads(body or b"{}")
    for key in ("training_file", "validation_file"):
        if params.get(key) and params[key] not in api.files:
            return 400, _error(f"invalid {key}: {params[key]}", code="invalid_file", param=key)
    if not params.get("model"):
        return 400, _error("model is required", code="missing_model", param="model")
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
            _error(f"Could not find fine-tune: {segments[2]}", code="fine_tune_not_found"),
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
            return 400, _error(problem, code="invalid_state")
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
        else (404, _error(f"The model '{segments[1]}' does not exist", code="model_not_found"))
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


def _chat(
    api: FineTuneAPI, segments: list[str], query: dict[str, str], body: bytes, headers: Any
) -> Answer:
    params = json.loads(body or b"{}")
    model = params.get("model") or (segments[1] if segments[0] == "deployments" else "")
    messages = params.get("messages")
    if not model:
        return 400, _error("model is required", code="missing_model", param="model")
    if not isinstance(messages, list) or not messages:
        return 400, _error("messages must be a non-empty list", code=None, param="messages")
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


_ROUTES: dict[tuple[str, int, str, str], Any] = {
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
