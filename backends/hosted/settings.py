"""Where a hosted backend connects through the ``openai`` SDK, and the SDK client for it.

``HostedSettings`` holds everything about the connection that is *not*
secret: it is saved in ``run.json`` (``settings["connection"]``) so the
follower process can reconnect. The secret (an API key or an Entra ID token)
is only ever passed in memory or inherited through the environment
(``OPENAI_API_KEY``, ``AZURE_OPENAI_API_KEY``, ``AZURE_OPENAI_AD_TOKEN``, or the
variable the registry names for another provider).

Besides OpenAI and Azure OpenAI, any provider the registry gives an OpenAI-compatible
address (``api_base_url``, ``base_url_env``) is spoken to the same way: Together AI's chat
API for Evaluate and Try it, and every OpenAI-compatible fine-tuning API (``compatible``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

from backends import registry

if TYPE_CHECKING:
    import openai

    from backends.runs.values import RunSpec

OPENAI = "openai"
AZURE = "azure"
"""The two flavours of the OpenAI API with their own settings; any other provider name is an
OpenAI-compatible API at ``base_url`` with its key in ``key_env``."""

DEFAULT_AZURE_API_VERSION = "2025-04-01-preview"
AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"


class SecretInEnv:
    """Where a connection's secret comes from: given in memory, else the environment variable
    ``secret_env_var`` names. A follower process inherits it through its environment, never
    through a file."""

    @property
    def secret_env_var(self) -> str:
        raise NotImplementedError

    def resolve_secret(
        self, secret: str | None = None, env: Mapping[str, str] | None = None
    ) -> str | None:
        """The secret given in memory, else the one in the environment."""
        if secret:
            return secret
        env = os.environ if env is None else env
        return env.get(self.secret_env_var) or None

    def child_env(
        self, secret: str | None = None, base: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The environment for a follower process: ours, plus the secret, plus ``backends``
        importable."""
        from backends.processes import importable_env

        env = importable_env(base)
        resolved = self.resolve_secret(secret, env)
        if resolved:
            env[self.secret_env_var] = resolved
        return env


@dataclass(frozen=True)
class HostedSettings(SecretInEnv):
    """A connection to OpenAI, Azure OpenAI or an OpenAI-compatible API, minus the secret."""

    provider: str = OPENAI
    base_url: str | None = None
    """OpenAI: ``OPENAI_BASE_URL``; Azure: the v1 route ``{endpoint}/openai/v1/`` if set."""
    organization: str | None = None
    project: str | None = None
    azure_endpoint: str | None = None
    api_version: str | None = None
    azure_auth: str = "key"
    """``key`` (api-key header) or ``entra`` (Microsoft Entra ID bearer token)."""
    timeout_s: float = 60.0
    key_env: str | None = None
    """An OpenAI-compatible provider: the environment variable holding its key (not the key)."""
    label_text: str | None = None
    """An OpenAI-compatible provider the registry does not know by name: what to call it."""

    def __post_init__(self) -> None:
        if not self.provider:
            raise ValueError("provider must be named")
        if self.azure_auth not in ("key", "entra"):
            raise ValueError(f"azure_auth must be 'key' or 'entra', not {self.azure_auth!r}")

    @property
    def label(self) -> str:
        if self.label_text:
            return self.label_text
        return registry.label(self.provider)

    @property
    def compatible(self) -> bool:
        """An OpenAI-compatible API other than OpenAI and Azure OpenAI."""
        return self.provider not in (OPENAI, AZURE)

    @property
    def secret_env_var(self) -> str:
        """The environment variable the secret is read from (and handed to the follower in)."""
        if self.provider == OPENAI:
            return "OPENAI_API_KEY"
        if self.provider == AZURE:
            return "AZURE_OPENAI_AD_TOKEN" if self.azure_auth == "entra" else "AZURE_OPENAI_API_KEY"
        entry = registry.find(self.provider)
        return self.key_env or (entry.key_env if entry else None) or "OPENAI_API_KEY"

    @property
    def uses_azure_v1_route(self) -> bool:
        return self.provider == AZURE and bool(self.base_url)

    @classmethod
    def from_env(
        cls, provider: str = OPENAI, env: Mapping[str, str] | None = None, **overrides: Any
    ) -> HostedSettings:
        env = os.environ if env is None else env
        if provider == OPENAI:
            values: dict[str, Any] = {
                "base_url": env.get("OPENAI_BASE_URL") or None,
                "organization": env.get("OPENAI_ORG_ID") or None,
                "project": env.get("OPENAI_PROJECT_ID") or None,
            }
        elif provider != AZURE:
            values = {
                "base_url": compatible_base_url(provider, env),
                "key_env": registry.get(provider).key_env,
            }
        else:
            values = {
                "azure_endpoint": env.get("AZURE_OPENAI_ENDPOINT") or None,
                "api_version": env.get("OPENAI_API_VERSION") or DEFAULT_AZURE_API_VERSION,
                "azure_auth": "entra"
                if env.get("AZURE_OPENAI_AD_TOKEN") and not env.get("AZURE_OPENAI_API_KEY")
                else "key",
            }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(provider=provider, **values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HostedSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def where(self) -> str:
        """The address in words, for messages (never a secret)."""
        if self.provider == OPENAI:
            return self.base_url or "https://api.openai.com/v1"
        if self.compatible:
            return self.base_url or "(no base URL set)"
        return self.base_url or self.azure_endpoint or "(no Azure endpoint set)"

    def missing(self, secret: str | None = None) -> str | None:
        """Why a client cannot be made (no secret, no endpoint), or ``None``."""
        if self.provider == AZURE and not (self.azure_endpoint or self.base_url):
            return "No Azure OpenAI endpoint: set AZURE_OPENAI_ENDPOINT."
        if self.compatible and not self.base_url:
            return f"No base URL for {self.label}: give --base-url or add it to providers.toml."
        if self.resolve_secret(secret) is None and not (
            self.provider == AZURE and self.azure_auth == "entra" and _has_azure_identity()
        ):
            return f"No {self.label} credential: set {self.secret_env_var}."
        return None

    def remedy(self, secret: str | None = None) -> str:
        """What fixes the problem ``missing`` names: the hint always matches that problem."""
        if self.provider == AZURE and not (self.azure_endpoint or self.base_url):
            return "export AZURE_OPENAI_ENDPOINT=https://<resource>.openai.azure.com"
        if self.compatible and not self.base_url:
            return "--base-url URL, or add the address to providers.toml"
        return f"export {self.secret_env_var}=..."

    def make_client(self, secret: str | None = None, *, max_retries: int = 2) -> openai.OpenAI:
        """An SDK client (``OpenAI`` or ``AzureOpenAI``) for these settings."""
        import openai

        from backends.hosted.errors import HostedError

        problem = self.missing(secret)
        if problem:
            raise HostedError(problem, kind="config")
        secret = self.resolve_secret(secret)
        timeout = openai.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s))
        if self.provider == OPENAI:
            return openai.OpenAI(
                api_key=secret,
                organization=self.organization,
                project=self.project,
                base_url=self.base_url,
                timeout=timeout,
                max_retries=max_retries,
            )
        if self.compatible or self.uses_azure_v1_route:
            return openai.OpenAI(
                api_key=secret, base_url=self.base_url, timeout=timeout, max_retries=max_retries
            )
        auth: dict[str, Any]
        if self.azure_auth == "entra":
            auth = (
                {"azure_ad_token": secret}
                if secret
                else {"azure_ad_token_provider": _entra_token_provider()}
            )
        else:
            auth = {"api_key": secret}
        return openai.AzureOpenAI(
            azure_endpoint=self.azure_endpoint or "",
            api_version=self.api_version or DEFAULT_AZURE_API_VERSION,
            timeout=timeout,
            max_retries=max_retries,
            **auth,
        )


def compatible_base_url(provider: str, env: Mapping[str, str] | None = None) -> str | None:
    """The OpenAI-compatible address of ``provider``: its variable (plus the path the provider's own
    SDK would add, e.g. Together's ``/v1``), else the registry's default."""
    entry = registry.get(provider)
    env = os.environ if env is None else env
    override = env.get(entry.base_url_env) if entry.base_url_env else None
    if override:
        return override.rstrip("/") + entry.base_url_path
    return entry.api_base_url


def settings_of(spec: RunSpec) -> HostedSettings:
    """The OpenAI-SDK connection of a run's provider (``run.json`` → ``settings.connection``).

    A run launched through another SDK (Together) saved its own connection, without a
    ``provider``: its OpenAI-compatible address is derived from it (chat for Evaluate).
    """
    connection = spec.settings.get("connection")
    if isinstance(connection, dict) and "provider" in connection:
        return HostedSettings.from_dict(connection)
    provider = spec.backend if registry.is_hosted(spec.backend) else registry.DEFAULT_HOSTED
    if isinstance(connection, dict) and provider not in (OPENAI, AZURE):
        entry = registry.get(provider)
        base = connection.get("base_url")
        if isinstance(base, str) and base:
            return HostedSettings.from_env(
                provider, base_url=base.rstrip("/") + entry.base_url_path
            )
    return HostedSettings.from_env(provider)


def _has_azure_identity() -> bool:
    import importlib.util

    return importlib.util.find_spec("azure.identity") is not None


def _entra_token_provider() -> Any:
    """A token provider from ``azure-identity`` (``DefaultAzureCredential``), refreshed per request."""
    from azure.identity import DefaultAzureCredential, get_bearer_token_provider

    return get_bearer_token_provider(DefaultAzureCredential(), AZURE_SCOPE)
