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
``stream: true`` is answered with server-sent events as OpenAI sends them
(``chat.completion.chunk`` objects one word each, a final usage chunk when
``stream_options.include_usage``, then ``data: [DONE]``), ``chat_chunk_delay_s``
apart; ``chat_streams_finished`` / ``chat_streams_dropped`` count streams sent
to the end / hung up on by the client.

The HTTP plumbing is in ``finetune_http``, the endpoints in ``finetune_routes``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.fake_jobs import CLOCK_START, FakeJob, Script
from tests.fakes.finetune_http import EmulatorHandler
from tests.fakes.finetune_routes import count_words, default_chat_answer
from tests.fakes.server import EmulatorServer

__all__ = [
    "CLOCK_START",
    "Fault",
    "FineTuneAPI",
    "count_words",
    "default_chat_answer",
]


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
    chat_chunk_delay_s: float = 0.0
    known_models: tuple[str, ...] = (
        "ft:gpt-4o-mini-2024-07-18:org::abc123",
        "ft:gpt-4o-mini-2024-07-18:chainline::abc123",
    )
    """Models ``GET /models`` lists besides the base models and the jobs' fine-tuned ones: the
    account's earlier fine-tuned models the tests evaluate by name."""

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
        self.chat_streams_finished = 0
        self.chat_streams_dropped = 0
        """Streamed answers the client hung up on before the end (a cancel)."""
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------
    def start(self) -> FineTuneAPI:
        server = EmulatorServer(("127.0.0.1", 0), EmulatorHandler)
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
