"""Where an evaluation's models run: the provider's settings, a hosted or local runner for a
model, and why a provider cannot be used here (no key, no ``[local]`` extra, no inference).

The CLI, the Evaluate stage and Try it all get their runners from here
(``backends.evaluate.setup`` decides which models; this module connects to them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backends import registry
from backends.evaluate.request import EvalRequest, UsageProblem
from backends.evaluate.runners import HostedRunner, LocalRunner, Runner

if TYPE_CHECKING:
    from backends.hosted.settings import HostedSettings


def hosted_settings(provider: str, request: EvalRequest) -> HostedSettings:
    """The provider's settings from the environment, with the endpoint/version the request gives."""
    from backends.hosted.settings import HostedSettings

    if not registry.needs_endpoint(provider):
        return HostedSettings.from_env(provider)
    return HostedSettings.from_env(
        provider,
        azure_endpoint=(request.azure_endpoint or "").strip() or None,
        api_version=(request.api_version or "").strip() or None,
    )


def hosted_runner(
    provider: str, model: str, request: EvalRequest, settings: HostedSettings | None = None
) -> HostedRunner:
    """A hosted model's runner, its key checked now (``HostedError`` when there is none)."""
    from backends.hosted.errors import HostedError

    settings = settings or hosted_settings(provider, request)
    secret = request.secret or None
    problem = settings.missing(secret)
    if problem:
        raise HostedError(problem, kind="config")
    return HostedRunner(
        settings,
        model,
        secret=secret,
        concurrency=request.concurrency,
        max_tokens=request.max_tokens,
    )


def local_runner(model: str, request: EvalRequest, adapter: str | None = None) -> LocalRunner:
    return LocalRunner(
        model, adapter=adapter, batch_size=request.batch_size, max_new_tokens=request.max_tokens
    )


def inference_refusal(provider: str) -> str | None:
    """Why ``provider``'s models cannot be called for Evaluate and Try it (registry), or ``None``."""
    entry = registry.get(provider)
    if entry.inference:
        return None
    return f"{entry.label} models cannot be called from here: evaluate them where they are served."


def runner_for(provider: str, model: str, request: EvalRequest) -> Runner:
    """``model`` on ``provider``: a local runner, or a hosted one (its OpenAI-compatible chat API)."""
    refusal = inference_refusal(provider)
    if refusal:
        raise UsageProblem(refusal)
    if registry.is_local(provider):
        return local_runner(model, request)
    return hosted_runner(provider, model, request)


def provider_problem(provider: str, secret: str = "", azure_endpoint: str = "") -> str | None:
    """Why ``provider`` cannot run an evaluation here (no key, no ``[local]`` extra), or ``None``."""
    if registry.is_local(provider):
        from backends.local.backend import INSTALL_HINT, missing_packages

        missing = missing_packages()
        return f"Local models need {', '.join(missing)}: {INSTALL_HINT}" if missing else None
    from backends.hosted.settings import HostedSettings

    endpoint: dict[str, Any] = (
        {"azure_endpoint": azure_endpoint.strip() or None}
        if registry.needs_endpoint(provider)
        else {}
    )
    return HostedSettings.from_env(provider, **endpoint).missing(secret or None)
