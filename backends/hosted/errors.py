"""What went wrong talking to a provider, in words a person can act on.

``explain`` turns any exception from the ``openai`` SDK into a
``HostedError``: one plain message plus what to do, a ``kind`` the UI can
branch on, and whether retrying can help. Every text passes through
``redact`` first: a provider's 401 answer quotes part of the key, and nothing
of a key may reach a screen, a log or a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TypedDict

from backends.backend import BackendError
from backends.catalog import OPENAI_WIND_DOWN

TRAINING_NOT_AVAILABLE = "training_not_available"

_KEYLIKE_RE = re.compile(r"\b(sk-[A-Za-z0-9_\-]*\**[A-Za-z0-9_\-]*)")
_BEARER_RE = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-~+/=]{8,}")

ALTERNATIVES = (
    "Alternatives: Azure OpenAI fine-tunes the same model families (choose the Azure OpenAI "
    "backend), or train an open-weights model on your own GPU (the Local backend). Existing "
    "OpenAI jobs can still be monitored, and existing fine-tuned models keep serving."
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every given secret, anything shaped like an OpenAI key and bearer tokens hidden."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[hidden]")
    text = _KEYLIKE_RE.sub("[hidden key]", text)
    return _BEARER_RE.sub(r"\1[hidden]", text)


class HostedError(BackendError):
    """A provider or network failure, explained."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        hint: str = "",
        retryable: bool = False,
        status_code: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint=hint, retryable=retryable)
        self.kind = kind
        self.status_code = status_code
        self.code = code
        self.retry_after = retry_after


class TrainingNotAvailable(HostedError):
    """OpenAI refused to create a job: self-serve fine-tuning is winding down."""

    said: str = ""
    """The provider's own words, without the wind-down explanation (a screen shows them alone)."""


def _provider_message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
    return str(getattr(error, "message", "") or error)


def _retry_after(error: Any) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            return float(value) / divisor
        except ValueError:
            continue
    return None


def explain(
    error: BaseException, *, provider: str = "OpenAI", secrets: Iterable[str | None] = ()
) -> HostedError:
    """A ``HostedError`` for any exception raised while talking to ``provider``."""
    if isinstance(error, HostedError):
        return error
    import openai

    secrets = tuple(secrets)

    def clean(text: str) -> str:
        return redact(text, secrets)

    if isinstance(error, openai.APITimeoutError):
        return HostedError(
            f"{provider} did not answer in time.",
            kind="timeout",
            hint="It will be retried; check your connection if this persists.",
            retryable=True,
        )
    if isinstance(error, openai.APIConnectionError):
        host = ""
        request = getattr(error, "request", None)
        if request is not None:
            host = f" at {request.url.host}"
        return HostedError(
            f"Cannot reach {provider}{host}: the network is down or the address is wrong.",
            kind="network",
            hint="Check your connection, proxy and the base URL / endpoint; it will be retried.",
            retryable=True,
        )
    if isinstance(error, openai.APIStatusError):
        return _explain_status(error, provider, clean)
    if isinstance(error, openai.OpenAIError):
        return HostedError(clean(str(error)), kind="config", hint="Check the backend settings.")
    if isinstance(error, OSError):
        return HostedError(clean(f"{type(error).__name__}: {error}"), kind="io")
    return HostedError(
        clean(f"Unexpected {type(error).__name__}: {error}"),
        kind="other",
        hint="This looks like a bug in finetune-tui; please report it.",
    )


class _Common(TypedDict):
    """What every error from an HTTP status carries."""

    status_code: int
    code: str | None


def _explain_status(error: Any, provider: str, clean: Any) -> HostedError:
    status = int(getattr(error, "status_code", 0) or 0)
    code = getattr(error, "code", None)
    said = clean(_provider_message(error))
    common = _Common(status_code=status, code=code)
    if status == 401:
        key_name = "AZURE_OPENAI_API_KEY" if provider.startswith("Azure") else "OPENAI_API_KEY"
        return HostedError(
            f"{provider} rejected the API key (401).",
            kind="auth",
            hint=f"Check {key_name} or the key you entered, and that it belongs to this "
            "organisation/project or resource.",
            **common,
        )
    if status == 403 and code == TRAINING_NOT_AVAILABLE:
        refused = TrainingNotAvailable(
            f"{provider} refused to create the fine-tuning job: {said} {OPENAI_WIND_DOWN}",
            kind=TRAINING_NOT_AVAILABLE,
            hint=ALTERNATIVES,
            **common,
        )
        refused.said = said
        return refused
    if status == 403:
        return HostedError(
            f"{provider} denied access (403): {said}",
            kind="forbidden",
            hint="Check that your organisation/project (or Azure resource and role) may use fine-tuning.",
            **common,
        )
    if status == 404:
        return HostedError(
            f"{provider} does not know this file, model or job (404): {said}",
            kind="not_found",
            hint="Check the id; a job or file from another organisation/project is invisible to this key.",
            **common,
        )
    if status == 429:
        if code == "insufficient_quota":
            return HostedError(
                f"{provider} quota exhausted (429): {said}",
                kind="quota",
                hint="Add credit or raise the limit in your account's billing settings.",
                **common,
            )
        return HostedError(
            f"{provider} is rate limiting requests (429).",
            kind="rate_limit",
            hint="Waiting and retrying.",
            retryable=True,
            retry_after=_retry_after(error),
            **common,
        )
    if status >= 500:
        return HostedError(
            f"{provider} had a server error ({status}).",
            kind="server",
            hint="Usually temporary; retrying.",
            retryable=True,
            retry_after=_retry_after(error),
            **common,
        )
    if status in (400, 409, 422):
        param = getattr(error, "param", None)
        where = f" (field {param})" if param else ""
        return HostedError(
            f"{provider} refused the request{where}: {said}",
            kind="invalid",
            hint=_refusal_hint(param, said),
            **common,
        )
    return HostedError(f"{provider} answered {status}: {said}", kind="other", **common)


_INPUT_PARAMS = ("messages", "input", "prompt", "content")


def _refusal_hint(param: object, said: str) -> str:
    """What to do about a 400/409/422: only a refusal of what was typed asks to fix the input.

    A refusal of the model, a file or a setting says so: the person's text was fine then.
    """
    name = str(param or "").lower()
    if name.startswith(_INPUT_PARAMS):
        return "Change what you sent (the message the provider names) and try again."
    if "file" in name:
        return "Check the file the provider names: its format and its examples."
    if name == "model" or (not name and "model" in said.lower()):
        return "Check the model: its name, and that it can be used for this on your account."
    if name:
        return f"The model or provider does not accept {name} as sent: not your input."
    return "See the provider's message above for what it did not accept."
