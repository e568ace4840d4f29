"""A local emulator of Together AI's fine-tuning API, for tests driven by the real ``together`` SDK.

Written from Together's OpenAPI reference and the SDK's types (3.x). Real HTTP on
127.0.0.1, stdlib only. It answers what the SDK sends:

    POST /v1/files                 -> 302 + Location + X-Together-File-Id (the upload URL)
    PUT  /upload/{file_id}         the file's bytes (the "presigned" storage URL)
    POST /v1/files/{id}/preprocess -> the file, with a validation report
    GET  /v1/files/{id}            the same file (the SDK's upload drops the report; this has it)
    GET  /v2/supported-models?product=&limit=&after=   the supported-model catalog (cursor pages)
    GET  /v1/fine-tunes/models/limits?model_name=      POST /v1/fine-tunes/estimate-price
    POST /v1/fine-tunes            GET /v1/fine-tunes[/{id}]      POST /v1/fine-tunes/{id}/cancel
    GET  /v1/fine-tunes/{id}/events|metrics[?global_step_from]|checkpoints
    GET  /v1/finetune/download?ft_id&checkpoint=adapter|merged   (a .tar.zst body)
    POST /v1/chat/completions      (OpenAI-compatible; answers "echo: " + the last user turn;
                                    ``stream: true``: server-sent chunks, one word each, then usage)

Authentication is ``Authorization: Bearer <api_key>``; anything else is a 401.
A job moves one tick each time it is retrieved (``auto_advance``) or when a test
calls ``advance``: pending -> queued -> running (``steps_per_tick`` metric rows a tick,
an ``eval/loss`` row every ``eval_every`` steps when the job has ``n_evals``, a
checkpoint every ``checkpoint_every``) -> completed. ``fail_at_step`` ends a job with
status ``error`` and an error-level event carrying the reason (the job has none).
``reject_files`` makes preprocessing report an invalid file. ``late_steps`` holds the
metric rows of a job's last steps back until it has been retrieved ``late_polls`` times
after completing (metrics that arrive after the job is reported completed). ``inject``
adds faults (status, retry-after, times, path; ``drop=True`` closes the connection
without an answer). ``supported`` is the fine-tunable model list (``SupportedModelSpec``:
id, context length, each one's limits); ``estimate`` the price estimate's answer.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.finetune_http import read_body
from tests.fakes.server import EmulatorServer

CLOCK = "2026-11-24T03:00:00Z"
ARCHIVE = b"(\xb5/\xfd fake zstd tar of the adapter"
"""Starts with the zstd magic number; tests check the bytes arrive unchanged."""


def _stamp(tick: int) -> str:
    minutes, seconds = divmod(tick, 60)
    return f"2026-11-24T03:{minutes % 60:02d}:{seconds:02d}Z"


@dataclass
class Fault:
    status: int
    times: int = 1
    path_contains: str = ""
    method: str = ""
    retry_after: float | None = None
    message: str = "injected fault"
    drop: bool = False
    """Close the connection without answering (a network drop)."""

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and self.path_contains in path and self.method in ("", method)


@dataclass
class SupportedModelSpec:
    """One model of the supported-model catalog, and its fine-tuning limits."""

    id: str
    context_length: int = 32_768
    max_seq_length: int = 8192
    full_training: bool = True
    dpo: bool = True
    products: tuple[str, ...] = ("PRODUCT_FINE_TUNING", "PRODUCT_SERVERLESS")
    status: str = "SUPPORTED_MODEL_STATUS_SUPPORTED"

    def to_json(self) -> dict[str, Any]:
        publisher = self.id.split("/", 1)[0]
        return {
            "id": self.id,
            "name": self.id,
            "baseModel": "",
            "baseModelId": "",
            "capabilities": ["CAPABILITY_CHAT"],
            "createdAt": CLOCK,
            "updatedAt": CLOCK,
            "deploymentProfiles": [],
            "displayName": self.id.split("/")[-1],
            "displayType": "chat",
            "inputModalities": ["MODALITY_TEXT"],
            "outputModalities": ["MODALITY_TEXT"],
            "products": list(self.products),
            "publisher": publisher,
            "status": self.status,
            "contextLength": str(self.context_length),
            "pricing": {"input": 0.2, "output": 0.2},
        }


DEFAULT_SUPPORTED = (
    SupportedModelSpec("meta-llama/Meta-Llama-3.1-8B-Instruct-Reference", 131_072, 16_384),
    SupportedModelSpec("Qwen/Qwen2.5-7B-Instruct", 32_768, 12_288, full_training=False),
    SupportedModelSpec("Qwen/Qwen3-8B", 40_960, 16_384),
    SupportedModelSpec("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", 131_072, 8192, dpo=False),
    SupportedModelSpec("old/Retired-Model", 4096, 4096, status="SUPPORTED_MODEL_STATUS_HIDDEN"),
    SupportedModelSpec("black-forest-labs/FLUX.1-dev", 0, 0, products=("PRODUCT_SERVERLESS",)),
)
"""What the emulator's supported-model catalog holds: two the static catalog knows (with other
limits), two it lacks, a hidden one and one that is not fine-tunable."""


@dataclass
class Job:
    id: str
    body: dict[str, Any]
    total_steps: int
    status: str = "pending"
    step: int = 0
    tick: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, float]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    polls_since_end: int = 0
    """Retrievals answered ``completed``: late metric rows show once enough have passed."""

    @property
    def output_name(self) -> str:
        suffix = f"-{self.body['suffix']}" if self.body.get("suffix") else ""
        return f"user/{self.body['model'].split('/')[-1]}{suffix}-{self.id[3:9]}"

    def to_json(self) -> dict[str, Any]:
        lora = self.body.get("training_type") or {"type": "Lora", "lora_r": 8, "lora_alpha": 16}
        return {
            "id": self.id,
            "status": self.status,
            "user_id": "user-1",
            "created_at": _stamp(0),
            "updated_at": _stamp(self.tick),
            "model": self.body["model"],
            "model_output_name": self.output_name,
            "adapter_output_name": None,
            "training_file": self.body["training_file"],
            "validation_file": self.body.get("validation_file") or None,
            "n_epochs": self.body.get("n_epochs"),
            "n_evals": self.body.get("n_evals"),
            "suffix": self.body.get("suffix"),
            "token_count": 1000 if self.status == "completed" else None,
            "training_type": lora,
            "training_method": self.body.get("training_method") or {"method": "sft"},
        }


class TogetherAPI:
    """Start with ``with TogetherAPI() as api:``; ``api.base_url`` goes in ``TOGETHER_BASE_URL``."""

    def __init__(
        self,
        *,
        api_key: str = "tg-test-key-0123456789",
        total_steps: int = 6,
        steps_per_tick: int = 2,
        eval_every: int = 2,
        checkpoint_every: int = 3,
        auto_advance: bool = True,
    ) -> None:
        self.api_key = api_key
        self.total_steps = total_steps
        self.steps_per_tick = steps_per_tick
        self.eval_every = eval_every
        self.checkpoint_every = checkpoint_every
        self.auto_advance = auto_advance
        self.fail_at_step: int | None = None
        self.fail_reason = "CUDA out of memory on step 3: lower the batch size"
        self.reject_files = False
        self.late_steps = 0
        self.late_polls = 0
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.jobs: dict[str, Job] = {}
        self.created: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.chat_models: list[str] = []
        self.supported: list[SupportedModelSpec] = list(DEFAULT_SUPPORTED)
        self.page_size = 2
        """The supported-model list's page size when the request names none (pages are followed)."""
        self.estimate: dict[str, Any] = {
            "estimation_available": True,
            "allowed_to_proceed": True,
            "estimated_total_price": 1.25,
            "estimated_train_token_count": 1000.0,
        }
        self.estimates: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self._server: EmulatorServer | None = None

    # --- lifecycle ---------------------------------------------------------
    def __enter__(self) -> TogetherAPI:
        server = EmulatorServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        setattr(server, "emulator", self)  # noqa: B010 - the handler reads it
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def inject(self, status: int = 0, **kwargs: Any) -> None:
        self.faults.append(Fault(status, **kwargs))

    # --- the script ---------------------------------------------------------
    def _event(self, job: Job, kind: str, message: str, level: str = "info", **extra: Any) -> None:
        job.events.append(
            {
                "object": "fine-tune-event",
                "created_at": _stamp(job.tick),
                "type": kind,
                "level": level,
                "message": message,
                **extra,
            }
        )

    def advance(self, job_id: str) -> None:
        with self.lock:
            job = self.jobs[job_id]
            job.tick += 1
            if job.status == "pending":
                job.status = "queued"
                self._event(job, "job_pending", "Job queued")
            elif job.status == "queued":
                job.status = "running"
                self._event(job, "training_start", "Training started", total_steps=job.total_steps)
            elif job.status == "running":
                for _ in range(self.steps_per_tick):
                    job.step += 1
                    if self.fail_at_step is not None and job.step >= self.fail_at_step:
                        job.status = "error"
                        self._event(job, "job_error", self.fail_reason, level="error")
                        return
                    job.metrics.append(
                        {
                            "train/loss": round(2.0 / job.step, 4),
                            "train/learning_rate": 1e-5,
                            "train/global_step": float(job.step),
                        }
                    )
                    if job.body.get("n_evals") and job.step % self.eval_every == 0:
                        job.metrics.append(
                            {
                                "eval/loss": round(2.5 / job.step, 4),
                                "train/global_step": float(job.step),
                            }
                        )
                    if job.step % self.checkpoint_every == 0:
                        job.checkpoints.append(
                            {
                                "checkpoint_type": f"Intermediate step {job.step}",
                                "created_at": _stamp(job.tick),
                                "path": f"s3://bucket/{job.id}/{job.step}",
                                "step": job.step,
                                "checkpoint": "adapter",
                            }
                        )
                        self._event(job, "checkpoint_save", f"Checkpoint saved at step {job.step}")
                    if job.step >= job.total_steps:
                        job.status = "completed"
                        job.checkpoints.append(
                            {
                                "checkpoint_type": "Final",
                                "created_at": _stamp(job.tick),
                                "path": f"s3://bucket/{job.id}/final",
                                "step": job.step,
                                "checkpoint": "adapter",
                            }
                        )
                        self._event(job, "job_complete", "Job finished")
                        return
            elif job.status == "cancel_requested":
                job.status = "cancelled"
                self._event(job, "job_stopped", "Job cancelled")

    # --- endpoints ------------------------------------------------------------
    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> Any:
        parts = [p for p in path.split("/") if p]
        if method == "POST" and parts == ["v1", "files"]:
            file_id = f"file-{len(self.files) + 1:04d}"
            fields = _form_fields(body)
            self.files[file_id] = {"filename": fields.get("file_name", "data.jsonl")}
            return (
                302,
                b"",
                {"Location": f"{self.base_url}/upload/{file_id}", "X-Together-File-Id": file_id},
            )
        if parts[:2] == ["v1", "files"] and len(parts) >= 3:
            file_id = parts[2]
            data = self.contents.get(file_id, b"")
            report: dict[str, Any] = {
                "valid": True,
                "file_id": file_id,
                "nlines": data.count(b"\n"),
            }
            status = "COMPLETED"
            if self.reject_files:
                status = "INVALID_FORMAT"
                report = {
                    "valid": False,
                    "file_id": file_id,
                    "error": "Line 3: missing field 'messages'",
                    "error_type": "INVALID_FORMAT",
                }
            return {
                "id": file_id,
                "object": "file",
                "bytes": len(data),
                "created_at": 1_795_000_000,
                "filename": self.files[file_id]["filename"],
                "FileType": "jsonl",
                "purpose": "fine-tune",
                "processing_status": status,
                "validation_report": report,
            }
        if method == "GET" and parts == ["v2", "supported-models"]:
            return self._supported_page(query)
        if parts[:3] == ["v1", "fine-tunes", "models"]:
            name = query.get("model_name", "")
            known = {m.id: m for m in self.supported}
            return _limits(name, known.get(name))
        if parts == ["v1", "fine-tunes", "estimate-price"]:
            self.estimates.append(json.loads(body or b"{}"))
            return dict(self.estimate)
        if method == "POST" and parts == ["v1", "fine-tunes"]:
            request = json.loads(body)
            self.created.append(request)
            job = Job(f"ft-{len(self.jobs) + 1:08d}-abcd", request, self.total_steps)
            self.jobs[job.id] = job
            self._event(job, "job_pending", "Fine-tune request created")
            return job.to_json()
        if method == "GET" and parts == ["v1", "fine-tunes"]:
            return {"data": [job.to_json() for job in self.jobs.values()]}
        if parts[:2] == ["v1", "fine-tunes"] and len(parts) >= 3:
            job = self.jobs.get(parts[2])
            if job is None:
                return (404, {"error": {"message": f"fine-tune {parts[2]} not found"}}, {})
            tail = parts[3] if len(parts) > 3 else ""
            if tail == "" and method == "GET":
                if self.auto_advance:
                    self.advance(job.id)
                if job.status == "completed":
                    job.polls_since_end += 1
                return job.to_json()
            if tail == "cancel":
                if job.status in ("pending", "queued", "running"):
                    job.status = "cancel_requested"
                    self._event(job, "cancel_requested", "Cancel requested")
                return job.to_json()
            if tail == "events":
                return {"data": list(job.events)}
            if tail == "metrics":
                start = float(query.get("global_step_from", "0"))
                shown = job.total_steps - self.late_steps
                if job.polls_since_end > self.late_polls:
                    shown = job.total_steps
                return {
                    "metrics": [r for r in job.metrics if start <= r["train/global_step"] <= shown]
                }
            if tail == "checkpoints":
                return {"data": list(job.checkpoints)}
        if parts == ["v1", "finetune", "download"]:
            job = self.jobs[query["ft_id"]]
            if job.status != "completed":
                return (400, {"error": {"message": "job not completed"}}, {})
            return (200, ARCHIVE + query.get("checkpoint", "").encode(), {})
        if parts == ["v1", "chat", "completions"]:
            request = json.loads(body)
            self.chat_models.append(request["model"])
            last = next(
                (m["content"] for m in reversed(request["messages"]) if m["role"] == "user"), ""
            )
            answer = f"echo: {last}"
            if request.get("stream"):
                return _Stream(request["model"], answer)
            return {
                "id": "chat-1",
                "object": "chat.completion",
                "created": 1_795_000_000,
                "model": request["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8},
            }
        return (404, {"error": {"message": f"no route {method} {path}"}}, {})

    def _supported_page(self, query: dict[str, str]) -> dict[str, Any]:
        wanted = query.get("product")
        models = [m for m in self.supported if not wanted or wanted in m.products]
        start = int(query.get("after") or 0)
        size = int(query.get("limit") or self.page_size)
        size = min(size, self.page_size)
        page = models[start : start + size]
        more = start + size < len(models)
        return {
            "data": [m.to_json() for m in page],
            "next_cursor": str(start + size) if more else None,
        }


def _form_fields(body: bytes) -> dict[str, str]:
    """The SDK posts the upload request's fields as JSON or form text; either is read."""
    try:
        value = json.loads(body or b"{}")
        return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}
    except ValueError:
        return {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}


def _limits(model: str, spec: SupportedModelSpec | None = None) -> dict[str, Any]:
    sequence = spec.max_seq_length if spec else 8192
    full = spec.full_training if spec else True
    dpo = sequence if spec is None or spec.dpo else 0
    return {
        "model_name": model,
        "default_gradient_accumulation_steps": 1,
        "lora_training": {
            "max_batch_size": 32,
            "max_batch_size_dpo": 16,
            "max_rank": 64,
            "min_batch_size": 8,
            "target_modules": ["q_proj", "v_proj"],
            "default_rank": 8,
        },
        "full_training": {"max_batch_size": 32, "max_batch_size_dpo": 16, "min_batch_size": 8}
        if full
        else None,
        "max_learning_rate": 1.0,
        "min_learning_rate": 1e-8,
        "max_num_checkpoints": 10,
        "max_num_epochs": 20,
        "max_num_evals": 10,
        "max_seq_length_dpo": dpo,
        "max_seq_length_sft": sequence,
        "merge_output_lora": True,
        "min_max_seq_length": 512,
        "supports_full_training": full,
        "supports_reasoning": False,
        "supports_tools": True,
        "supports_vision": False,
    }


@dataclass
class _Stream:
    """A streamed chat answer: one chunk per word, then a usage chunk."""

    model: str
    answer: str

    def events(self) -> list[bytes]:
        words = self.answer.split(" ")
        chunks = []
        for position, word in enumerate(words):
            text = word if position == 0 else " " + word
            chunks.append(self._chunk([{"index": 0, "delta": {"content": text}}]))
        chunks.append(
            self._chunk(
                [],
                usage={
                    "prompt_tokens": 5,
                    "completion_tokens": len(words),
                    "total_tokens": 5 + len(words),
                },
            )
        )
        return chunks

    def _chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {
            "id": "chat-1",
            "object": "chat.completion.chunk",
            "created": 1_795_000_000,
            "model": self.model,
            "choices": choices,
            **extra,
        }
        return json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        kind = "application/octet-stream" if isinstance(payload, bytes) else "application/json"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, stream: _Stream) -> None:
        """Server-sent events as the OpenAI-compatible API sends them, then ``[DONE]``."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for data in stream.events():
            self.wfile.write(b"data: " + data + b"\n\n")
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def _dispatch(self, method: str) -> None:
        api: TogetherAPI = self.server.emulator
        url = urlsplit(self.path)
        body = read_body(self)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with api.lock:
            api.requests.append((method, url.path))
            if method == "PUT" and url.path.startswith("/upload/"):
                api.contents[url.path.rsplit("/", 1)[-1]] = body
                self._send(200, {}, {})
                return
            if self.headers.get("Authorization") != f"Bearer {api.api_key}":
                self._send(401, {"error": {"message": "Invalid API key provided"}}, {})
                return
            for fault in api.faults:
                if fault.matches(method, url.path):
                    fault.times -= 1
                    if fault.drop:
                        self.close_connection = True
                        self.connection.close()
                        return
                    headers = {}
                    if fault.retry_after is not None:
                        headers["retry-after"] = str(fault.retry_after)
                    self._send(fault.status, {"error": {"message": fault.message}}, headers)
                    return
            answer = api.handle(method, url.path, query, body)
        if isinstance(answer, _Stream):
            self._stream(answer)
        elif isinstance(answer, tuple):
            self._send(*answer)
        else:
            self._send(200, answer, {})
