"""Together AI fine-tuning through the official ``together`` SDK (3.x).

Key from ``TOGETHER_API_KEY`` (or the Settings step's masked field, kept in
memory); ``TOGETHER_BASE_URL`` is honoured as the SDK does (the SDK appends
``/v1/...`` itself). Launch uploads the files (SDK upload with its own checks
and byte progress), creates the job (SFT or DPO, LoRA or full), records the
job id, then the detached follower (``backends.hosted.follower``) mirrors it.

What differs from OpenAI, and is handled here: per-step losses come from the
metrics listing (flat rows ``train/loss``, ``eval/loss``, ``train/global_step``),
events carry lifecycle messages only; a failed job's reason is its error-level
event; validation loss exists only with ``n_evals`` > 0; the fine-tuned model is
``output_name`` at creation and ``x_model_output_name`` on retrieve; the SDK's 401
on upload speaks of "free trial credits", so the key rejection is said here; the
trained weights download as ``.tar.zst`` (adapter, or merged on request).

This module is the backend itself; what the API says and how it is read (names,
settings, errors, states, metric rows) is ``together_api``, following a job into
its run folder ``together_mirror``, the data's layout and checks ``together_data``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from backends import locations, model_lists
from backends.backend import Availability, BackendError, NotSupported, Problem, ProgressCallback
from backends.catalog import DPO as DPO_METHOD
from backends.catalog import SUPERVISED, Provider
from backends.files import sha256_of
from backends.hosted.api import JobSummary
from backends.hosted.errors import HostedError
from backends.hosted.job_control import launch_cancelled, launch_failed
from backends.hosted.mirror import follow_run
from backends.hosted.together_api import (
    FRACTION_HYPER,
    KEY_ENV,
    LABEL,
    MAX_LISTED_MODELS,
    NAME,
    SUFFIX_MAX,
    TogetherSettings,
    api_int,
    api_time,
    explain,
    run_state,
)
from backends.hosted.together_data import check_file, create_params, together_record
from backends.hosted.together_mirror import TogetherMirror
from backends.model_lists import ListedModel, ModelList
from backends.registry import TOGETHER_HYPERPARAMETERS
from backends.runs import RunFolder, RunStore
from backends.runs.values import AUTO, DPO, FULL, RunResult, RunSpec, RunState
from backends.text import printable_line


class TogetherBackend:
    """Fine-tuning on Together AI."""

    name = NAME
    label = LABEL
    provider = Provider.TOGETHER
    supports_pause = False

    def __init__(
        self,
        settings: TogetherSettings | None = None,
        *,
        secret: str | None = None,
        today: date | None = None,
        start_followers: bool = True,
        azure_endpoint: str | None = None,
        api_version: str | None = None,
    ) -> None:
        """``azure_endpoint``/``api_version`` are accepted like every hosted backend's, unused."""
        self.settings = settings or TogetherSettings.from_env()
        self._secret = secret
        self.today = today
        self.start_followers = start_followers

    @classmethod
    def for_run(cls, folder: RunFolder, *, secret: str | None = None) -> TogetherBackend:
        connection = folder.read_spec().settings.get("connection")
        settings = (
            TogetherSettings.from_dict(connection)
            if isinstance(connection, dict)
            else TogetherSettings.from_env()
        )
        return cls(settings, secret=secret)

    def __repr__(self) -> str:  # never shows the key
        return f"TogetherBackend(settings={self.settings!r})"

    # --- connection ------------------------------------------------------
    @property
    def _secrets(self) -> tuple[str | None, ...]:
        return (self.settings.resolve_secret(self._secret),)

    def client(self, *, max_retries: int = 2) -> Any:
        try:
            return self.settings.make_client(self._secret, max_retries=max_retries)
        except Exception as error:
            raise explain(error, secrets=self._secrets) from None

    def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as error:
            raise explain(error, secrets=self._secrets) from None

    def child_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        return self.settings.child_env(self._secret, base)

    def availability(self) -> Availability:
        try:
            import together  # noqa: F401
        except ImportError:
            return Availability(
                False, "The together package is not installed.", "pip install together"
            )
        problem = self.settings.missing(self._secret)
        if problem:
            return Availability(False, problem, f"export {KEY_ENV}=...")
        return Availability(True, f"{LABEL} credential found; endpoint {self.settings.where()}.")

    def check(self) -> str:
        jobs = self._call(self._list, self.client(max_retries=1), 1)
        seen = "no fine-tuning jobs yet" if not jobs else f"latest job {jobs[0].job_id}"
        return f"{LABEL} accepted the credential ({self.settings.where()}; {seen})."

    # --- the models it fine-tunes -------------------------------------------
    def model_list_address(self) -> str:
        return self.settings.where()

    def fetch_models(self) -> list[ListedModel]:
        """The models Together fine-tunes, with each one's training limits (may raise).

        The supported-model catalog filtered to fine-tuning, then ``model_limits`` per model
        (longest SFT example, full training or LoRA only); a model whose limits do not come
        keeps the list's context length."""
        client = self.client(max_retries=0).with_options(timeout=model_lists.FETCH_TIMEOUT_S)
        listed: list[Any] = []
        for model in client.models.list_supported(product="PRODUCT_FINE_TUNING", limit=100):
            if str(getattr(model, "status", "")) != "SUPPORTED_MODEL_STATUS_HIDDEN":
                listed.append(model)
            if len(listed) >= MAX_LISTED_MODELS:
                break

        def limits(model: Any) -> ListedModel:
            name = str(model.id)
            deprecated = str(getattr(model, "status", "")) == "SUPPORTED_MODEL_STATUS_DEPRECATED"
            try:
                found = client.fine_tuning.model_limits(model_name=name)
            except Exception:
                return ListedModel(name, api_int(model.context_length), deprecated=deprecated)
            return ListedModel(
                name,
                api_int(found.max_seq_length_sft) or api_int(model.context_length),
                ("lora", "full") if found.supports_full_training else ("lora",),
                (SUPERVISED, DPO_METHOD) if api_int(found.max_seq_length_dpo) else (SUPERVISED,),
                deprecated,
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(limits, listed))

    def model_list(self) -> ModelList:
        """The catalog merged with the list last fetched from this address (no network)."""
        return model_lists.cached_for(self)

    def estimate_price(self, spec: RunSpec, training_file: str) -> str | None:
        """Together's own estimate for the job, in words (``None`` when it gives none)."""
        method: dict[str, Any] = (
            {"method": "dpo"}
            if spec.method == DPO
            else {"method": "sft", "train_on_inputs": "auto"}
        )
        options: dict[str, Any] = {
            "training_file": training_file,
            "model": spec.model,
            "training_method": method,
        }
        if spec.adapter == FULL:  # LoRA is Together's default
            options["training_type"] = {"type": "Full"}
        epochs = spec.hyper("n_epochs")
        if epochs != AUTO:
            options["n_epochs"] = int(epochs)
        try:
            answer = self.client(max_retries=1).fine_tuning.estimate_price(**options)
        except Exception:
            return None
        if not getattr(answer, "estimation_available", False):
            return None
        price = getattr(answer, "estimated_total_price", None)
        tokens = getattr(answer, "estimated_train_token_count", None)
        if not isinstance(price, (int, float)):
            return None
        said = f"{LABEL} estimates ${price:,.2f}"
        if isinstance(tokens, (int, float)):
            said += f" for {int(tokens):,} training tokens"
        if getattr(answer, "allowed_to_proceed", True) is False:
            limit = getattr(answer, "user_limit", None)
            said += (
                f"; above your credit limit (${limit:,.2f})"
                if isinstance(limit, (int, float))
                else "; above your credit limit"
            )
        return said + "."

    # --- data in a format Together takes ------------------------------------
    def convert_data(self, spec: RunSpec) -> tuple[RunSpec, list[str]]:
        """The spec with each data file Together would not take replaced by a converted copy
        (a new file next to it; the user's file is never touched), and what was done, in lines.

        ShareGPT and Alpaca examples become chat ``messages``; for DPO, Hugging Face
        ``prompt``/``chosen``/``rejected`` pairs (plain or conversational) become Together's
        ``input``/``preferred_output``/``non_preferred_output``. A file that changed since it
        was inspected is left alone (``prepare`` says so). ``NothingConverted``,
        ``TargetExists`` or ``OSError`` when a file needs converting and cannot be."""
        from backends.data.convert import convert_to_new_file, needs_conversion

        convert = together_record(spec.method)
        suffix = "together-dpo" if spec.method == DPO else "together"
        changes: dict[str, Any] = {}
        done: list[dict[str, Any]] = list(spec.settings.get("converted") or [])
        lines: list[str] = []
        for label, field, digest_field in (
            ("training", "dataset", "dataset_sha256"),
            ("validation", "validation", "validation_sha256"),
        ):
            value = getattr(spec, field)
            if not value or not Path(value).is_file():
                continue
            path = Path(value)
            digest = getattr(spec, digest_field)
            if digest and sha256_of(path) != digest:
                continue
            if not needs_conversion(path, convert):
                continue
            converted = convert_to_new_file(path, suffix, convert)
            changes[field] = str(converted.path)
            if digest:
                changes[digest_field] = sha256_of(converted.path)
            done.append(
                {
                    "file": label,
                    "from": str(path),
                    "to": str(converted.path),
                    "examples": converted.result.written,
                    "skipped": converted.result.skipped_count,
                }
            )
            lines += converted.describe(f"{LABEL} ({label} file)")
        if not changes:
            return spec, []
        settings = {**spec.settings, "converted": done}
        return replace(spec, settings=settings, **changes), lines

    # --- before launch ---------------------------------------------------
    def prepare(self, spec: RunSpec) -> list[Problem]:
        problems: list[Problem] = []
        if spec.backend != NAME:
            problems.append(
                Problem(f"This run is for {spec.backend!r}, not {NAME!r}.", where="backend")
            )
        verdict = self.model_list().tunability(spec.model, today=self.today or locations.today())
        if not verdict.tunable:
            problems.append(Problem(verdict.summary, where="model"))
        elif verdict.entry is None:
            full = self._full_name(spec.model)
            if full:
                problems.append(
                    Problem(
                        f"{LABEL} names a model with its organisation: {full}, not {spec.model}.",
                        where="model",
                    )
                )
            else:
                problems.append(Problem(verdict.summary, fatal=False, where="model"))
        elif spec.adapter and spec.adapter not in verdict.entry.adapters:
            problems.append(
                Problem(
                    f"{verdict.entry.name} trains with {', '.join(verdict.entry.adapters)} on "
                    f"{LABEL}, not {spec.adapter}.",
                    where="adapter",
                )
            )
        problems.extend(self._check_files(spec))
        problems.extend(self._check_hyperparameters(spec))
        if spec.suffix and len(spec.suffix) > SUFFIX_MAX:
            problems.append(
                Problem(
                    f"On {LABEL} the suffix is at most {SUFFIX_MAX} characters.", where="suffix"
                )
            )
        return problems

    def _full_name(self, model: str) -> str | None:
        """The listed ``org/model`` a bare ``model`` stands for (the API takes only the full id)."""
        if "/" in model:
            return None
        tail = "/" + model.strip().lower()
        found = [name for name in self.model_list().names if name.lower().endswith(tail)]
        return found[0] if len(found) == 1 else None

    def _check_files(self, spec: RunSpec) -> list[Problem]:
        problems: list[Problem] = []
        for label, path, digest in (
            ("training", spec.dataset, spec.dataset_sha256),
            ("validation", spec.validation, spec.validation_sha256),
        ):
            if path is None:
                continue
            file = Path(path)
            if not file.is_file():
                problems.append(Problem(f"The {label} file {path} does not exist.", where=path))
                continue
            if digest and sha256_of(file) != digest:
                problems.append(
                    Problem(
                        f"The {label} file {path} changed since it was inspected: inspect it again.",
                        where=path,
                    )
                )
            problems.extend(check_file(file, label=label, method=spec.method))
        return problems

    def _check_hyperparameters(self, spec: RunSpec) -> list[Problem]:
        problems = []
        for name, value in spec.hyperparameters.items():
            if name not in TOGETHER_HYPERPARAMETERS:
                known = ", ".join(TOGETHER_HYPERPARAMETERS)
                problems.append(
                    Problem(f"Unknown hyperparameter {name!r} (known: {known}).", where=name)
                )
                continue
            if value == AUTO:
                continue
            number = None if isinstance(value, (bool, str)) else float(value)
            low_ok = name in FRACTION_HYPER or name in ("n_evals", "n_checkpoints")
            if number is None or number < 0 or (number == 0 and not low_ok):
                problems.append(
                    Problem(
                        f"{name} must be 'auto' or a positive number, not {value!r}.", where=name
                    )
                )
            elif name in FRACTION_HYPER and number >= 1:
                problems.append(Problem(f"{name} must be below 1, not {value!r}.", where=name))
        evals = spec.hyperparameters.get("n_evals", AUTO)
        if evals != AUTO and float(evals) > 0 and not spec.validation:
            problems.append(
                Problem("Evaluations (n_evals) need a validation file.", where="n_evals")
            )
        return problems

    # --- launch ----------------------------------------------------------
    def launch(
        self,
        spec: RunSpec,
        store: RunStore,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RunFolder:
        try:
            spec, _said = self.convert_data(spec)
        except (ValueError, OSError) as error:
            raise BackendError(printable_line(str(error))) from None
        fatal = [p for p in self.prepare(spec) if p.fatal]
        if fatal:
            raise BackendError(" ".join(p.message for p in fatal))
        client = self.client()
        spec = replace(spec, settings={**spec.settings, "connection": self.settings.to_dict()})
        folder = store.create(spec, status={"detail": "Uploading files", "pid": os.getpid()})
        folder.log(f"{LABEL} fine-tuning of {spec.model} ({spec.method}), run {folder.run_id}.")
        for converted in spec.settings.get("converted") or []:
            folder.log(
                f"The {converted['file']} file {converted['from']} was converted for {LABEL}: "
                f"{converted['examples']:,} examples in {converted['to']}"
                + (f", {converted['skipped']:,} lines skipped" if converted["skipped"] else "")
                + " (the original is unchanged)."
            )
        try:
            training_file = self._upload(client, folder, Path(spec.dataset), progress)
            validation_file = None
            if spec.validation:
                _stop_if_cancelled(cancel)
                validation_file = self._upload(client, folder, Path(spec.validation), progress)
            _stop_if_cancelled(cancel)
            estimate = self.estimate_price(spec, training_file)
            if estimate:
                folder.log(estimate)
            folder.update_status(detail="Creating the job")
            job = client.fine_tuning.create(**create_params(spec, training_file, validation_file))
            status = str(getattr(job.status, "value", job.status))
            folder.update_status(
                job_id=job.id,
                provider_status=status,
                state=run_state(status),
                detail="",
                pid=None,
                extra={
                    "training_file": training_file,
                    "validation_file": validation_file,
                    "output_name": job.output_name,
                },
            )
            folder.log(f"Created job {job.id} ({status}); the model will be {job.output_name}.")
        except _Cancelled:
            raise launch_cancelled(folder) from None
        except Exception as error:
            raise launch_failed(folder, explain(error, secrets=self._secrets)) from None
        if self.start_followers:
            self._start_follower(folder)
        return folder

    def _upload(
        self, client: Any, folder: RunFolder, path: Path, progress: ProgressCallback | None
    ) -> str:
        folder.update_status(detail=f"Uploading {path.name}")

        def report(event: Any) -> None:
            if progress is not None:
                progress(path.name, int(event.uploaded_bytes), int(event.total_bytes))

        uploaded = client.files.upload(
            file=path, purpose="fine-tune", check=False, progress_callback=report
        )
        if getattr(uploaded, "processing_status", None) in ("FAILED", "INVALID_FORMAT"):
            # The SDK's upload drops the validation report: the file itself carries it.
            found = getattr(client.files.retrieve(uploaded.id), "validation_report", None)
            said = getattr(found, "error", None) or "the file was rejected"
            raise HostedError(
                f"{LABEL} rejected {path.name}: {printable_line(str(said))}",
                kind="invalid",
                hint="Fix the file and try again.",
            )
        size = path.stat().st_size
        if progress is not None:
            progress(path.name, size, size)
        folder.log(f"Uploaded {path.name} as {uploaded.id}.")
        return str(uploaded.id)

    def _start_follower(self, folder: RunFolder) -> None:
        from backends.hosted.follower import start_follower

        start_follower(folder, secret=self._secret)

    # --- after launch ----------------------------------------------------
    def _job_id(self, run: RunFolder) -> str:
        job_id = run.read_status().job_id
        if not job_id:
            raise BackendError("This run has no job yet (its files may still be uploading).")
        return job_id

    def mirror(self, run: RunFolder, client: Any | None = None) -> TogetherMirror:
        return TogetherMirror(
            run, client or self.client(max_retries=1), self._job_id(run), secrets=self._secrets
        )

    def follow(self, run: RunFolder, *, stop: threading.Event | None = None) -> RunState:
        return follow_run(run, lambda: self.mirror(run), stop=stop)

    def cancel(self, run: RunFolder) -> None:
        job_id = self._job_id(run)
        client = self.client()
        job = self._call(client.fine_tuning.cancel, job_id)
        run.log(
            f"Cancel requested for job {job_id}: now {getattr(job.status, 'value', job.status)}."
        )
        from backends.hosted.follower import follower_alive

        if not follower_alive(run):
            self._call(self.mirror(run, client).sync_once)

    def pause(self, run: RunFolder) -> None:
        raise NotSupported(f"{LABEL} jobs cannot be paused.")

    def resume(self, run: RunFolder) -> None:
        raise NotSupported(f"{LABEL} jobs cannot be paused or resumed.")

    def save_now(self, run: RunFolder) -> None:
        raise NotSupported(
            "Hosted providers save checkpoints on their own schedule; there is no save-now."
        )

    def result(self, run: RunFolder) -> RunResult:
        status = run.read_status()
        return RunResult(
            state=status.state,
            model=status.fine_tuned_model,
            output_dir=run.output_dir,
            trained_tokens=status.trained_tokens,
            checkpoints=tuple(str(c.get("model")) for c in status.checkpoints if c.get("model")),
            error=status.error,
        )

    def download(self, run: RunFolder, *, merged: bool = False) -> Path:
        """The trained adapter (or merged weights) as ``output/<name>.tar.zst``; returns the path."""
        job_id = self._job_id(run)
        if run.read_status().state is not RunState.SUCCEEDED:
            raise BackendError("Only a finished (succeeded) job has weights to download.")
        kind = "merged" if merged else "adapter"
        client = self.client()
        response = self._call(client.fine_tuning.content, ft_id=job_id, checkpoint=kind)
        run.output_dir.mkdir(parents=True, exist_ok=True)
        target = run.output_dir / f"{job_id}-{kind}.tar.zst"
        partial = target.with_suffix(".part")
        try:
            response.write_to_file(partial)
        except Exception as error:
            partial.unlink(missing_ok=True)
            raise explain(error, secrets=self._secrets) from None
        partial.replace(target)
        run.log(f"Downloaded the {kind} weights to output/{target.name}.")
        return target

    def attach(self, job_id: str, store: RunStore) -> RunFolder:
        """Mirror an existing job into a new run folder."""
        client = self.client()
        job = self._call(client.fine_tuning.retrieve, job_id)
        method = getattr(getattr(job, "training_method", None), "method", None) or "sft"
        training_type = getattr(getattr(job, "training_type", None), "type", None)
        spec = RunSpec(
            backend=NAME,
            model=job.model or "?",
            dataset=f"{NAME}:{job.training_file}",
            validation=f"{NAME}:{job.validation_file}" if job.validation_file else None,
            method=DPO if method == "dpo" else "supervised",
            adapter=FULL if training_type == "Full" else "lora",
            settings={"connection": self.settings.to_dict(), "attached": True},
            name=f"attached {job.id}",
        )
        status = str(getattr(job.status, "value", job.status))
        folder = store.create(
            spec, status={"job_id": job.id, "provider_status": status, "state": run_state(status)}
        )
        folder.log(f"Attached to existing {LABEL} job {job.id} ({status}).")
        if self.start_followers:
            self._start_follower(folder)
        return folder

    def list_jobs(self, *, limit: int = 20) -> list[JobSummary]:
        return self._call(self._list, self.client(), limit)

    @staticmethod
    def _list(client: Any, limit: int) -> list[JobSummary]:
        jobs = sorted(client.fine_tuning.list().data or [], key=lambda j: api_time(j.created_at))
        rows = []
        for job in reversed(jobs):
            status = str(getattr(job.status, "value", job.status))
            rows.append(
                JobSummary(
                    job_id=job.id,
                    model=job.model or "?",
                    status=status,
                    state=run_state(status),
                    created_at=int(api_time(job.created_at)),
                    fine_tuned_model=job.x_model_output_name if status == "completed" else None,
                    suffix=job.suffix,
                )
            )
        return rows[:limit]


class _Cancelled(Exception):
    pass


def _stop_if_cancelled(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise _Cancelled
