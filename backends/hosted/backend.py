"""``Backend`` for OpenAI fine-tuning (and the base the Azure one extends).

Launch = upload the files (with progress), create the job, write its id to
``status.json`` before returning, start the detached follower. Everything a
viewer shows afterwards comes from the run folder the follower keeps current.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from backends import locations, registry
from backends.backend import Availability, BackendError, Problem, ProgressCallback
from backends.catalog import OPENAI_NO_NEW_JOBS_FROM, Provider
from backends.files import sha256_of
from backends.hosted import api
from backends.hosted.errors import ALTERNATIVES, HostedError, explain
from backends.hosted.job_control import JobControl, launch_cancelled, launch_failed
from backends.hosted.settings import OPENAI, HostedSettings, settings_of
from backends.hosted.spec import hyper_problem
from backends.runs import RunFolder, RunStore
from backends.runs.values import AUTO, RunSpec
from backends.tunability import tunability

RUN_METADATA_KEY = "finetune_tui_run"
"""Added to each job's metadata so a job can be found from its run id."""

_KNOWN_HYPER = {"supervised": api.SUPERVISED_HYPERPARAMETERS, "dpo": api.DPO_HYPERPARAMETERS}


class HostedBackend(JobControl):
    """What OpenAI and Azure OpenAI have in common (following and control: ``JobControl``)."""

    name = OPENAI
    label = "OpenAI"
    provider = Provider.OPENAI
    supports_pause = True

    def __init__(
        self,
        settings: HostedSettings | None = None,
        *,
        secret: str | None = None,
        today: date | None = None,
        start_followers: bool = True,
        azure_endpoint: str | None = None,
        api_version: str | None = None,
    ) -> None:
        """``settings`` as given, else from the environment with the Settings step's overrides.

        ``azure_endpoint`` and ``api_version`` (blank: the environment's) are used where the
        registry says the backend has an endpoint setting (Azure).
        """
        overrides: dict[str, Any] = {}
        if registry.get(self.name).endpoint_setting:
            overrides = {
                "azure_endpoint": (azure_endpoint or "").strip() or None,
                "api_version": (api_version or "").strip() or None,
            }
        self.settings = settings or HostedSettings.from_env(self.name, **overrides)
        self._secret = secret
        self.today = today
        self.start_followers = start_followers

    @classmethod
    def for_run(cls, folder: RunFolder, *, secret: str | None = None) -> HostedBackend:
        """The backend that launched ``folder``, with the secret from memory or the environment."""
        return cls(settings_of(folder.read_spec()), secret=secret)

    def __repr__(self) -> str:  # never shows the secret
        return f"{type(self).__name__}(settings={self.settings!r})"

    # --- connection -------------------------------------------------------
    @property
    def _secrets(self) -> tuple[str | None, ...]:
        return (self.settings.resolve_secret(self._secret),)

    def child_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for this backend's follower process (the secret included)."""
        return self.settings.child_env(self._secret, base)

    def client(self, *, max_retries: int = 2) -> Any:
        try:
            return self.settings.make_client(self._secret, max_retries=max_retries)
        except Exception as error:
            raise self.explain(error) from None

    def explain(self, error: BaseException) -> HostedError:
        return explain(error, provider=self.label, secrets=self._secrets)

    def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as error:
            raise self.final_error(error) from None

    def final_error(self, error: BaseException) -> HostedError:
        """``error`` explained as the last word of a call the client has already retried."""
        explained = self.explain(error)
        if explained.retryable:  # "retrying" would promise what will not happen
            explained.hint = "It did not recover after retrying: try again in a few minutes."
        return explained

    def availability(self) -> Availability:
        try:
            import openai  # noqa: F401
        except ImportError:
            return Availability(False, "The openai package is not installed.", "pip install openai")
        problem = self.settings.missing(self._secret)
        if problem:
            return Availability(False, problem, self.settings.remedy(self._secret))
        return Availability(
            True, f"{self.label} credential found; endpoint {self.settings.where()}."
        )

    def check(self) -> str:
        """Validate the credential with one cheap call (nothing is uploaded); raises ``HostedError``."""
        client = self.client(max_retries=1)
        jobs = self._call(api.list_jobs, client, limit=1)
        seen = "no fine-tuning jobs yet" if not jobs else f"latest job {jobs[0].job_id}"
        return f"{self.label} accepted the credential ({self.settings.where()}; {seen})."

    # --- before launch ------------------------------------------------------
    def prepare(self, spec: RunSpec) -> list[Problem]:
        problems: list[Problem] = []
        if spec.backend != self.name:
            problems.append(
                Problem(f"This run is for {spec.backend!r}, not {self.name!r}.", where="backend")
            )
        problems.extend(self._check_model(spec))
        for label, path, digest in (
            ("training", spec.dataset, spec.dataset_sha256),
            ("validation", spec.validation, spec.validation_sha256),
        ):
            if path is None:
                continue
            file = Path(path)
            if not file.is_file():
                why = "is not a regular file" if file.exists() else "does not exist"
                if file.is_dir():
                    why = "is a folder, not a file"
                problems.append(Problem(f"The {label} file {path} {why}.", where=str(path)))
            elif file.stat().st_size == 0:
                problems.append(Problem(f"The {label} file {path} is empty.", where=str(path)))
            elif digest and sha256_of(file) != digest:
                problems.append(
                    Problem(
                        f"The {label} file {path} changed since it was inspected: inspect it again.",
                        where=str(path),
                    )
                )
        allowed = _KNOWN_HYPER.get(spec.method, ())
        for name, value in spec.hyperparameters.items():
            if name not in allowed:
                problems.append(
                    Problem(
                        f"Unknown hyperparameter {name!r} for {spec.method} (known: {', '.join(allowed)}).",
                        where=name,
                    )
                )
            elif value != AUTO:
                problem = hyper_problem(name, value)
                if problem:
                    problems.append(Problem(problem, where=name))
        if len(spec.metadata) > 15:
            problems.append(
                Problem(
                    "At most 15 metadata entries (one is used for the run id).", where="metadata"
                )
            )
        for key, value in spec.metadata.items():
            if len(key) > 64 or len(value) > 512:
                problems.append(
                    Problem(f"Metadata {key!r}: keys ≤ 64 and values ≤ 512 characters.", where=key)
                )
        problems.extend(self._check_suffix(spec.suffix))
        return problems

    def _check_model(self, spec: RunSpec) -> list[Problem]:
        verdict = tunability(self.provider, spec.model, today=self.today or locations.today())
        if verdict.entry is None:
            return [
                Problem(
                    f"{spec.model} is not in finetune-tui's catalog; {self.label} will say whether it can be tuned.",
                    fatal=False,
                    where="model",
                )
            ]
        if not verdict.tunable:
            return [Problem(f"{verdict.summary} {ALTERNATIVES}", where="model")]
        problems = [Problem(note, fatal=False, where="model") for note in verdict.notes]
        if spec.method not in verdict.entry.methods:
            problems.append(
                Problem(
                    f"{verdict.entry.name} supports {', '.join(verdict.entry.methods)}, not {spec.method}.",
                    where="method",
                )
            )
        return problems

    def _check_suffix(self, suffix: str | None) -> list[Problem]:
        if suffix and len(suffix) > 64:
            return [Problem("The suffix must be at most 64 characters.", where="suffix")]
        return []

    # --- launch and attach ------------------------------------------------
    def launch(
        self,
        spec: RunSpec,
        store: RunStore,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> RunFolder:
        fatal = [p for p in self.prepare(spec) if p.fatal]
        if fatal:
            raise BackendError(" ".join(p.message for p in fatal))
        client = self.client()
        spec = replace(spec, settings={**spec.settings, "connection": self.settings.to_dict()})
        # This process owns the run until the job exists: its pid and heartbeats keep it alive to viewers.
        folder = store.create(spec, status={"detail": "Uploading files", "pid": os.getpid()})
        progress = _heartbeating(folder, progress)
        folder.log(
            f"{self.label} fine-tuning of {spec.model} ({spec.method}), run {folder.run_id}."
        )
        try:
            training_file = self._upload(client, folder, Path(spec.dataset), progress)
            validation_file = None
            if spec.validation:
                self._stop_if_cancelled(cancel)
                validation_file = self._upload(client, folder, Path(spec.validation), progress)
            self._stop_if_cancelled(cancel)
            params = api.job_create_params(
                spec, training_file=training_file, validation_file=validation_file
            )
            params["metadata"] = {**params.get("metadata", {}), RUN_METADATA_KEY: folder.run_id}
            folder.update_status(detail="Creating the job")
            job = api.create_job(client, params)
            folder.update_status(
                job_id=job.id,
                provider_status=job.status,
                state=api.run_state(job.status),
                detail="",
                pid=None,
                extra={"training_file": training_file, "validation_file": validation_file},
            )
            folder.log(f"Created job {job.id} ({job.status}).")
        except _Cancelled:
            raise launch_cancelled(folder) from None
        except Exception as error:
            raise launch_failed(folder, self.final_error(error)) from None
        if self.start_followers:
            self._start_follower(folder)
        return folder

    def _upload(
        self, client: Any, folder: RunFolder, path: Path, progress: ProgressCallback | None
    ) -> str:
        folder.update_status(detail=f"Uploading {path.name}")
        file_id = api.upload_file(client, path, progress=progress)
        folder.log(f"Uploaded {path.name} as {file_id}.")
        return file_id

    @staticmethod
    def _stop_if_cancelled(cancel: threading.Event | None) -> None:
        if cancel is not None and cancel.is_set():
            raise _Cancelled

    def _start_follower(self, folder: RunFolder) -> None:
        from backends.hosted.follower import start_follower

        start_follower(folder, secret=self._secret)

    def attach(self, job_id: str, store: RunStore) -> RunFolder:
        """Mirror an existing job (started elsewhere or before a restart) into a new run folder."""
        client = self.client()
        job = self._call(client.fine_tuning.jobs.retrieve, job_id)
        method = getattr(getattr(job, "method", None), "type", None) or "supervised"
        method_params = getattr(getattr(job, "method", None), method, None)
        hyper_model = getattr(method_params, "hyperparameters", None) or job.hyperparameters
        hyper = hyper_model.model_dump(exclude_none=True) if hyper_model is not None else {}
        spec = RunSpec(
            backend=self.name,
            model=job.model,
            dataset=f"{self.name}:{job.training_file}",
            validation=f"{self.name}:{job.validation_file}" if job.validation_file else None,
            method=method if method in _KNOWN_HYPER else "supervised",
            hyperparameters={k: v for k, v in hyper.items() if k in api.DPO_HYPERPARAMETERS},
            seed=job.seed,
            metadata=dict(job.metadata or {}),
            settings={"connection": self.settings.to_dict(), "attached": True, "method": method},
            name=f"attached {job.id}",
        )
        folder = store.create(
            spec,
            status={
                "job_id": job.id,
                "provider_status": job.status,
                "state": api.run_state(job.status),
            },
        )
        folder.log(f"Attached to existing {self.label} job {job.id} ({job.status}).")
        if self.start_followers:
            self._start_follower(folder)
        return folder

    def list_jobs(self, *, limit: int = 20) -> list[api.JobSummary]:
        return self._call(api.list_jobs, self.client(), limit=limit)


class _Cancelled(Exception):
    pass


def _heartbeating(
    folder: RunFolder, progress: ProgressCallback | None, every: float = 5.0
) -> ProgressCallback:
    """``progress`` plus a heartbeat in ``status.json`` at most every ``every`` seconds (long uploads)."""
    last = [time.monotonic()]

    def report(what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] >= every:
            last[0] = now
            folder.heartbeat()
        if progress is not None:
            progress(what, done, total)

    return report


class OpenAIBackend(HostedBackend):
    """Fine-tuning on OpenAI (winding down: see ``backends.catalog.OPENAI_WIND_DOWN``)."""

    def availability(self) -> Availability:
        base = super().availability()
        if base.ok and (self.today or locations.today()) >= OPENAI_NO_NEW_JOBS_FROM:
            return Availability(
                True,
                f"{base.reason} OpenAI no longer creates new fine-tuning jobs; existing jobs and "
                "models can still be monitored and used.",
                ALTERNATIVES,
            )
        return base
