"""Any OpenAI-compatible fine-tuning API, driven through the ``openai`` SDK with a provider profile.

Providers such as Nebius Token Factory expose the OpenAI fine-tuning API shape (files,
``fine_tuning.jobs``, events, checkpoints with train/valid loss) at another base URL. This
backend is OpenAI's (upload, create, follow, cancel: ``HostedBackend``) at the profile's
address with the profile's key variable; what the profile says the provider does not support
(DPO, pause, checkpoints) is refused before any call, with the reason. Profiles come from the
registry (``backends.profiles``); ``compatible`` is any such API named by ``base_url`` and
``key_env``.
"""

from __future__ import annotations

from datetime import date

from backends import model_lists, registry
from backends.backend import Availability, Problem
from backends.catalog import Provider
from backends.hosted.backend import HostedBackend
from backends.hosted.settings import HostedSettings
from backends.model_lists import ListedModel, ModelList
from backends.runs.values import RunSpec


class CompatibleBackend(HostedBackend):
    """One OpenAI-compatible provider (``profile``), or any at ``base_url`` (``compatible``)."""

    provider = Provider.COMPATIBLE

    def __init__(
        self,
        settings: HostedSettings | None = None,
        *,
        profile: str = registry.COMPATIBLE,
        secret: str | None = None,
        today: date | None = None,
        start_followers: bool = True,
        base_url: str | None = None,
        key_env: str | None = None,
        azure_endpoint: str | None = None,
        api_version: str | None = None,
    ) -> None:
        del azure_endpoint, api_version  # the Settings step's Azure fields: not ours
        self.name = settings.provider if settings is not None else profile
        self.info = registry.get(self.name)
        self.label = self.info.label
        self.supports_pause = self.info.pause
        if settings is None:
            settings = HostedSettings(
                provider=self.name,
                base_url=(base_url or "").strip() or self.info.api_base_url,
                key_env=(key_env or "").strip() or self.info.key_env,
            )
        super().__init__(settings, secret=secret, today=today, start_followers=start_followers)

    def availability(self) -> Availability:
        try:
            import openai  # noqa: F401
        except ImportError:
            return Availability(False, "The openai package is not installed.", "pip install openai")
        if not self.settings.base_url:
            return Availability(
                False,
                "No base URL: name the API's address on the command line, or add a profile.",
                "finetune-tui train --backend compatible --base-url URL --key-env VAR, "
                "or a profile in providers.toml",
            )
        if not self.settings.key_env:
            return Availability(
                False,
                "No key variable: name the one holding the key.",
                "--key-env VAR names the environment variable holding the key",
            )
        problem = self.settings.missing(self._secret)
        if problem:
            return Availability(False, problem, self.settings.remedy(self._secret))
        return Availability(
            True, f"{self.label} credential found; endpoint {self.settings.where()}."
        )

    def model_list_address(self) -> str:
        return self.settings.where()

    def fetch_models(self) -> list[ListedModel]:
        """The provider's ``/models`` (may raise): names only, the API says nothing more."""
        client = self.client(max_retries=0).with_options(timeout=model_lists.FETCH_TIMEOUT_S)
        listed = client.models.list()
        return [ListedModel(str(model.id)) for model in listed if getattr(model, "id", None)]

    def model_list(self) -> ModelList:
        """The profile's models merged with those last fetched from this address (no network)."""
        return model_lists.cached_for(self)

    def models(self) -> list[str]:
        """The models the provider lists (its ``/models``, kept in the cache), else the
        profile's; never raises."""
        return list(model_lists.refresh(self).names)

    def prepare(self, spec: RunSpec) -> list[Problem]:
        refusal = self.info.refusal(objective=spec.method)
        if refusal:
            return [Problem(refusal, where="method")]
        return super().prepare(spec)

    def _check_model(self, spec: RunSpec) -> list[Problem]:
        offered = self.model_list()
        listed = offered.names
        if listed and spec.model not in listed:
            shown = ", ".join(listed[:8]) + (", …" if len(listed) > 8 else "")
            return [
                Problem(
                    f"{spec.model} is not in {self.label}'s model list ({offered.source}: "
                    f"{shown}); {self.label} will say whether it can be tuned.",
                    fatal=False,
                    where="model",
                )
            ]
        return []

    def training_price(self, model: str) -> float | None:
        """$ per 1M training tokens where the profile lists one."""
        return self.info.listed_price(model)

    def __repr__(self) -> str:  # never shows the secret
        return f"CompatibleBackend(settings={self.settings!r})"
