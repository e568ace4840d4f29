"""Send prompts to a model and keep what comes back: answer, tokens, latency, error.

``HostedRunner`` calls OpenAI / Azure OpenAI chat completions through the
official SDK from a bounded thread pool. The SDK's own retries are off: a 429
or a 5xx is retried here, after the ``retry-after`` the provider asked for
(else an exponential backoff), waiting on the cancel event so a cancel is
immediate. A failure that retrying cannot fix (bad key, no quota, unknown
model) stops the remaining requests. Every message passes through
``errors.explain`` (secrets redacted).

``LocalRunner`` generates with transformers, greedily, in batches (left
padding), from a hub id, a model folder, a ``.gguf`` file, or a base model
plus a LoRA adapter folder. transformers/torch/peft are imported when the
model is loaded, never at import.

Both take ``cancel`` (a ``threading.Event``) and ``on_result`` (called once
per finished request, from any thread) and return one ``Generation`` per
request in request order; requests not run when cancelled are ``None``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.backend import BackendError
from backends.evaluate.prompts import Message

DEFAULT_CONCURRENCY = 8
DEFAULT_MAX_TOKENS = 256
DEFAULT_ATTEMPTS = 6
DEFAULT_BATCH_SIZE = 8
MAX_BACKOFF_S = 30.0
FATAL_KINDS = frozenset({"auth", "quota", "forbidden", "not_found", "config"})


@dataclass(frozen=True)
class Request:
    key: str
    """Unique within a run (e.g. ``few-shot/12``)."""
    messages: list[Message]


@dataclass
class Generation:
    key: str
    text: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    """Seconds of the request that answered (waits for retries not included); local: the batch's time ÷ its size."""
    attempts: int = 1
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "latency_s": self.latency_s,
            "attempts": self.attempts,
            "error": self.error,
        }


ResultCallback = Callable[[Generation], None]


def counting(total: int, progress: Callable[[int, int], None] | None) -> ResultCallback:
    """An ``on_result`` that reports ``(finished, total)`` to ``progress``, from any thread."""
    finished = 0
    lock = threading.Lock()

    def on_result(_generation: Generation) -> None:
        nonlocal finished
        with lock:
            finished += 1
            done = finished
        if progress is not None:
            progress(done, total)

    return on_result


class Runner:
    """What compare needs of a runner."""

    label: str = ""
    model: str = ""
    price_key: str | None = None
    """The model name to look up in the catalog for prices (``None``: not priced)."""
    hosted: bool = False
    """Sends its requests to a hosted provider (``HostedRunner``); else runs here."""

    def run(
        self,
        requests: Sequence[Request],
        *,
        cancel: threading.Event | None = None,
        on_result: ResultCallback | None = None,
    ) -> list[Generation | None]:
        raise NotImplementedError


# --- hosted -----------------------------------------------------------------
class HostedRunner(Runner):
    hosted = True

    def __init__(
        self,
        settings: Any,
        model: str,
        *,
        secret: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_tokens: int | None = DEFAULT_MAX_TOKENS,
        temperature: float | None = 0.0,
        attempts: int = DEFAULT_ATTEMPTS,
        client: Any = None,
    ) -> None:
        self.settings = settings
        self.model = model
        self.price_key = model
        self.label = f"{settings.label} {model}"
        self._secret = secret
        self.concurrency = max(1, int(concurrency))
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.attempts = max(1, int(attempts))
        self._client = client
        self.fatal: str | None = None
        """Why the remaining requests were not sent, when a failure stopped them."""

    def _make_client(self) -> Any:
        if self._client is None:
            self._client = self.settings.make_client(self._secret, max_retries=0)
        return self._client

    def model_missing(self) -> bool:
        """The provider answers "no such model" for ``model`` (unreachable is not missing)."""
        import openai

        try:
            self._make_client().models.retrieve(self.model)
        except openai.NotFoundError:
            return True
        except openai.OpenAIError:
            return False
        return False

    def _explain(self, error: BaseException) -> Any:
        from backends.hosted.errors import explain

        return explain(
            error,
            provider=self.settings.label,
            secrets=(self._secret, self.settings.resolve_secret(self._secret)),
        )

    def run(
        self,
        requests: Sequence[Request],
        *,
        cancel: threading.Event | None = None,
        on_result: ResultCallback | None = None,
    ) -> list[Generation | None]:
        cancel = cancel or threading.Event()
        stop = threading.Event()
        client = self._make_client()
        results: list[Generation | None] = [None] * len(requests)

        def one(position: int) -> None:
            if cancel.is_set() or stop.is_set():
                return
            generation = self._send(client, requests[position], cancel, stop)
            if generation is None:
                return
            results[position] = generation
            if on_result is not None:
                on_result(generation)

        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="eval") as pool:
            for future in [pool.submit(one, i) for i in range(len(requests))]:
                future.result()
        return results

    def _send(
        self, client: Any, request: Request, cancel: threading.Event, stop: threading.Event
    ) -> Generation | None:
        params: dict[str, Any] = {"model": self.model, "messages": request.messages}
        if self.max_tokens is not None:
            params["max_completion_tokens"] = self.max_tokens
        if self.temperature is not None:
            params["temperature"] = self.temperature
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                response = client.chat.completions.create(**params)
            except Exception as error:
                explained = self._explain(error)
                message = explained.message + (f" {explained.hint}" if explained.hint else "")
                if explained.kind in FATAL_KINDS:
                    self.fatal = self.fatal or message
                    stop.set()
                    return Generation(request.key, attempts=attempt, error=message)
                if not explained.retryable or attempt >= self.attempts:
                    return Generation(request.key, attempts=attempt, error=message)
                delay = explained.retry_after
                if delay is None:
                    delay = min(MAX_BACKOFF_S, 0.5 * 2 ** (attempt - 1))
                if cancel.wait(min(delay, MAX_BACKOFF_S)) or stop.is_set():
                    return None
                continue
            latency = time.perf_counter() - started
            usage = getattr(response, "usage", None)
            choices = getattr(response, "choices", None) or []
            text = (choices[0].message.content or "") if choices else ""
            return Generation(
                request.key,
                text=text,
                prompt_tokens=getattr(usage, "prompt_tokens", None),
                completion_tokens=getattr(usage, "completion_tokens", None),
                latency_s=latency,
                attempts=attempt,
            )


# --- local ------------------------------------------------------------------
class LocalModelError(BackendError):
    """A local model or adapter that cannot be loaded."""


def adapter_base(adapter: Path) -> str | None:
    """The base model a PEFT adapter folder names (``adapter_config.json``)."""
    try:
        config = json.loads((adapter / "adapter_config.json").read_text())
    except (OSError, ValueError):
        return None
    base = config.get("base_model_name_or_path")
    return base if isinstance(base, str) and base else None


def is_adapter(folder: Path) -> bool:
    return (folder / "adapter_config.json").is_file()


class LocalRunner(Runner):
    def __init__(
        self,
        model: str,
        *,
        adapter: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_new_tokens: int = DEFAULT_MAX_TOKENS,
        device: str | None = None,
    ) -> None:
        folder = Path(model).expanduser()
        if adapter is None and folder.is_dir() and is_adapter(folder):
            adapter = str(folder)
            base = adapter_base(folder)
            if base is None:
                raise LocalModelError(
                    f"{model} is a LoRA adapter that does not name its base model.",
                    hint="Name its base model as the base model and the adapter as the tuned model.",
                )
            model = base
        self.model = model
        self.adapter = adapter
        self.label = f"local {model}" + (f" + adapter {adapter}" if adapter else "")
        self.price_key = None
        self.batch_size = max(1, int(batch_size))
        self.max_new_tokens = max(1, int(max_new_tokens))
        self.device = device
        self._loaded: tuple[Any, Any] | None = None

    def load(self) -> tuple[Any, Any]:
        if self._loaded is not None:
            return self._loaded
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as error:
            raise LocalModelError(
                f"Local evaluation needs the [local] extra ({error.name} is not installed).",
                hint="pip install 'finetune-tui[local]'",
            ) from error
        from backends.local.models import loadable_path, resolve_model

        resolved = resolve_model(self.model)
        path = loadable_path(resolved)
        source = self.adapter if self.adapter and _has_tokenizer(Path(self.adapter)) else path
        try:
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModelForCausalLM.from_pretrained(path)
            if self.adapter:
                from peft import PeftModel

                model = PeftModel.from_pretrained(model, self.adapter)
        except (OSError, ValueError) as error:
            raise LocalModelError(
                f"Cannot load {self.label}: {error}",
                hint="Check the model folder / hub id (offline: it must be in the cache) "
                "and the adapter folder.",
            ) from error
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        model.to(device)
        model.eval()
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._loaded = (tokenizer, model)
        return self._loaded

    def render(self, tokenizer: Any, messages: Sequence[Message]) -> str:
        return render_chat(tokenizer, messages)

    def run(
        self,
        requests: Sequence[Request],
        *,
        cancel: threading.Event | None = None,
        on_result: ResultCallback | None = None,
    ) -> list[Generation | None]:
        import torch

        tokenizer, model = self.load()
        results: list[Generation | None] = [None] * len(requests)
        eos = tokenizer.eos_token_id
        for start in range(0, len(requests), self.batch_size):
            if cancel is not None and cancel.is_set():
                break
            batch = requests[start : start + self.batch_size]
            texts = [self.render(tokenizer, r.messages) for r in batch]
            encoded = tokenizer(
                texts, return_tensors="pt", padding=True, add_special_tokens=False
            ).to(model.device)
            began = time.perf_counter()
            with torch.no_grad():
                output = model.generate(
                    **encoded,
                    do_sample=False,
                    max_new_tokens=self.max_new_tokens,
                    pad_token_id=tokenizer.pad_token_id,
                )
            share = (time.perf_counter() - began) / len(batch)
            width = encoded["input_ids"].shape[1]
            for offset, request in enumerate(batch):
                new = output[offset, width:].tolist()
                if eos is not None and eos in new:
                    new = new[: new.index(eos) + 1]
                generation = Generation(
                    request.key,
                    text=tokenizer.decode(new, skip_special_tokens=True).strip(),
                    prompt_tokens=int(encoded["attention_mask"][offset].sum()),
                    completion_tokens=len(new),
                    latency_s=share,
                )
                results[start + offset] = generation
                if on_result is not None:
                    on_result(generation)
        return results


def render_chat(tokenizer: Any, messages: Sequence[Message]) -> str:
    """The prompt a local model sees: its chat template (a plain transcript when it has none)."""
    if getattr(tokenizer, "chat_template", None):
        return str(
            tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
            )
        )
    text = "\n".join(f"{m['role']}: {m['content']}" for m in messages)
    return text + "\nassistant:"


def _has_tokenizer(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json"))
