"""Every training backend by name: the only place that knows which backends exist.

Each entry says what a backend is called, what it can do (objectives, adaptations, pause,
save-now, checkpoints, download of the trained weights, inference for Evaluate and Try it) and
where its code lives. Screens, CLI commands, the run table and run control ask here; nothing else
compares backend names.

Factories are named by ``"module:attribute"`` and imported on first use, so asking what a
backend can do costs no import of its SDK, and the low layers (``backends.runs``) can ask too
without depending on the backends themselves. Adding a backend is one module plus one entry in
``_ENTRIES``.

OpenAI-compatible fine-tuning APIs are entries too, produced here from provider profiles
(``backends.profiles``: built in, and the user's ``providers.toml``, read when first asked):
``--backend nebius`` and the like; ``compatible`` is any such API named by address
(``--base-url URL --key-env VAR``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, cast

from backends import profiles
from backends.catalog import OPENAI_NO_NEW_JOBS_FROM, Provider
from backends.profiles import Profile
from backends.runs.values import ADAPTERS, DPO, SUPERVISED
from backends.runs.values import FULL as FULL
from backends.runs.values import LORA as LORA
from backends.runs.values import QLORA as QLORA

if TYPE_CHECKING:
    from backends.backend import Backend
    from backends.runs.store import RunFolder

OBJECTIVES = (SUPERVISED, DPO)
"""What training optimises: ``--method``. How the weights are adapted is ``ADAPTERS``
(``LORA``, ``QLORA``, ``FULL``): ``--adapter``."""


class UnknownBackend(ValueError):
    """A backend name no entry has (e.g. a ``run.json`` written by a newer version)."""

    def __init__(self, name: str) -> None:
        known = ", ".join(names())
        super().__init__(f"Unknown backend {name!r} (known: {known}).")
        self.name = name


@dataclass(frozen=True)
class BackendInfo:
    """What one backend is and can do; ``factory`` builds it, ``for_run`` reconnects to a run."""

    name: str
    """The id in ``run.json`` and on the command line (``--backend``)."""
    label: str
    hosted: bool
    provider: Provider | None
    """Where the catalog keeps its models and prices."""
    objectives: tuple[str, ...]
    adapters: tuple[str, ...]
    """Adaptations the user chooses; empty where the provider decides (OpenAI, Azure)."""
    pause: bool
    save_now: bool
    checkpoints: bool
    download: bool
    """The trained weights can be fetched into the run's ``output/``."""
    inference: bool
    """The trained model can be called for Evaluate and Try it."""
    key_env: str | None
    """The environment variable that holds its API key, if it has one."""
    factory: str
    for_run: str
    no_new_jobs_from: date | None = None
    """The provider stops creating new jobs from this day (existing ones go on)."""
    endpoint_setting: bool = False
    """The Settings step asks for an endpoint and an API version (``endpoint=``, ``api_version=``)."""
    training_tiers: bool = False
    """The job takes a training tier (``--training-type``) and a stricter suffix rule."""
    deployment: str | None = None
    """``"module:function"`` giving the words on deploying a trained model before calling it."""
    models_endpoint: bool = False
    """``GET /models/{id}`` answers for every model it can call (so a typo is caught up front);
    not Azure, whose chat calls name deployments."""
    hyperparameters: tuple[str, ...] = ()
    """The hosted job's hyperparameters, as the Settings step and ``train`` ask for them
    (``beta`` only with DPO; each ``"auto"`` or a number)."""
    api_base_url: str | None = None
    """The provider's OpenAI-compatible API (chat for Evaluate and Try it; fine-tuning for the
    compatible backends); ``None`` for OpenAI (the SDK's default) and Azure (its endpoint)."""
    base_url_env: str | None = None
    """The environment variable that moves the provider's address (tests, private gateways)."""
    base_url_path: str = ""
    """Appended to ``base_url_env``'s value for the OpenAI-compatible API (Together's SDK adds
    ``/v1`` itself, so its variable has none)."""
    profile: str | None = None
    """An OpenAI-compatible API's profile: handed to the factory as ``profile=``."""
    custom_address: bool = False
    """Reached at an address the user gives (``--base-url URL --key-env VAR``)."""
    models: tuple[str, ...] = ()
    """Models the provider's profile lists (where the catalog has none)."""
    listed_prices: tuple[tuple[str, float], ...] = ()
    """``(model, $ per 1M training tokens)`` from the provider's profile."""
    source: str = ""
    """Where the entry's facts come from (a profile's page or file)."""

    def listed_price(self, model: str) -> float | None:
        return next((price for name, price in self.listed_prices if name == model), None)

    def hyperparameter_names(self, objective: str) -> tuple[str, ...]:
        """The hyperparameters a job with ``objective`` takes (``beta`` is DPO's)."""
        return tuple(n for n in self.hyperparameters if n != "beta" or objective == DPO)

    def create(self, **options: Any) -> Backend:
        """A new backend object; ``options`` go to its constructor (e.g. ``secret=``)."""
        if self.profile is not None:
            options = {"profile": self.profile, **options}
        return cast("Backend", _load(self.factory)(**options))

    def reconnect(self, run: RunFolder, *, secret: str | None = None) -> Backend:
        """The backend that launched ``run``, connected as it was (secret from memory or env)."""
        return cast("Backend", _load(self.for_run)(run, secret=secret))

    def deployment_instructions(self, model_id: str) -> str | None:
        """How to deploy ``model_id`` before it can be called, where the provider needs that."""
        if self.deployment is None:
            return None
        return str(_load(self.deployment)(model_id))

    def accepts_new_jobs(self, today: date) -> bool:
        return self.no_new_jobs_from is None or today < self.no_new_jobs_from

    def supports(self, *, objective: str | None = None, adapter: str | None = None) -> bool:
        return self.refusal(objective=objective, adapter=adapter) is None

    def refusal(self, *, objective: str | None = None, adapter: str | None = None) -> str | None:
        """Why this backend cannot train with ``objective`` / ``adapter``; ``None`` when it can.

        ``None`` for either means "not chosen": the default objective, the backend's own
        adaptation. Where the provider decides the adaptation, choosing one is refused.
        """
        if objective is not None and objective not in self.objectives:
            if len(self.objectives) == 1:
                return f"{self.label} trains {self.objectives[0]} only (for now)."
            return f"{self.label} trains {' or '.join(self.objectives)}, not {objective}."
        if adapter is not None:
            if not self.adapters:
                return f"{self.label} chooses the adaptation itself: --adapter is not accepted."
            if adapter not in self.adapters:
                return f"{self.label} adapts with {', '.join(self.adapters)}, not {adapter}."
        return None


def _load(path: str) -> Callable[..., Any]:
    """``"package.module:Name.attribute"``: import the module, then follow the dotted attribute."""
    module, _, attribute = path.partition(":")
    found: Any = importlib.import_module(module)
    for part in attribute.split("."):
        found = getattr(found, part)
    return cast("Callable[..., Any]", found)


OPENAI_HYPERPARAMETERS = ("n_epochs", "batch_size", "learning_rate_multiplier", "beta")
TOGETHER_HYPERPARAMETERS = (
    "n_epochs",
    "batch_size",
    "learning_rate",
    "n_evals",
    "n_checkpoints",
    "warmup_ratio",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "beta",
)

_ENTRIES = (
    BackendInfo(
        name="openai",
        label="OpenAI",
        hosted=True,
        provider=Provider.OPENAI,
        objectives=OBJECTIVES,
        adapters=(),
        pause=True,
        save_now=False,
        checkpoints=True,
        download=False,
        inference=True,
        key_env="OPENAI_API_KEY",
        factory="backends.hosted.backend:OpenAIBackend",
        for_run="backends.hosted.backend:OpenAIBackend.for_run",
        no_new_jobs_from=OPENAI_NO_NEW_JOBS_FROM,
        hyperparameters=OPENAI_HYPERPARAMETERS,
        models_endpoint=True,
        base_url_env="OPENAI_BASE_URL",
    ),
    BackendInfo(
        name="azure",
        label="Azure OpenAI",
        hosted=True,
        provider=Provider.AZURE,
        objectives=OBJECTIVES,
        adapters=(),
        pause=True,
        save_now=False,
        checkpoints=True,
        download=False,
        inference=True,
        key_env="AZURE_OPENAI_API_KEY",
        factory="backends.hosted.azure:AzureBackend",
        for_run="backends.hosted.azure:AzureBackend.for_run",
        endpoint_setting=True,
        training_tiers=True,
        deployment="backends.hosted.azure:deployment_instructions",
        hyperparameters=OPENAI_HYPERPARAMETERS,
    ),
    BackendInfo(
        name="together",
        label="Together AI",
        hosted=True,
        provider=Provider.TOGETHER,
        objectives=OBJECTIVES,
        adapters=(LORA, FULL),
        pause=False,
        save_now=False,
        checkpoints=True,
        download=True,
        inference=True,
        key_env="TOGETHER_API_KEY",
        factory="backends.hosted.together:TogetherBackend",
        for_run="backends.hosted.together:TogetherBackend.for_run",
        hyperparameters=TOGETHER_HYPERPARAMETERS,
        api_base_url="https://api.together.ai/v1",
        base_url_env="TOGETHER_BASE_URL",
        base_url_path="/v1",
    ),
    BackendInfo(
        name="local",
        label="Local GPU",
        hosted=False,
        provider=Provider.LOCAL,
        objectives=OBJECTIVES,
        adapters=ADAPTERS,
        pause=False,
        save_now=True,
        checkpoints=True,
        download=True,
        inference=True,
        key_env=None,
        factory="backends.local.backend:LocalBackend",
        for_run="backends.local.backend:LocalBackend.for_run",
    ),
)
COMPATIBLE = "compatible"
"""Any OpenAI-compatible fine-tuning API, at the address the user gives."""
_COMPATIBLE_FACTORY = "backends.hosted.compatible:CompatibleBackend"

_STATIC = (
    *_ENTRIES[:-1],
    BackendInfo(
        name=COMPATIBLE,
        label="OpenAI-compatible API",
        hosted=True,
        provider=Provider.COMPATIBLE,
        objectives=OBJECTIVES,
        adapters=(),
        pause=True,
        save_now=False,
        checkpoints=True,
        download=False,
        inference=True,
        key_env=None,
        factory=_COMPATIBLE_FACTORY,
        for_run=f"{_COMPATIBLE_FACTORY}.for_run",
        hyperparameters=OPENAI_HYPERPARAMETERS,
        custom_address=True,
    ),
    _ENTRIES[-1],
)


def _profile_entry(profile: Profile) -> BackendInfo:
    return BackendInfo(
        name=profile.name,
        label=profile.label,
        hosted=True,
        provider=Provider.COMPATIBLE,
        objectives=OBJECTIVES if profile.dpo else (SUPERVISED,),
        adapters=(),
        pause=profile.pause,
        save_now=False,
        checkpoints=profile.checkpoints,
        download=False,
        inference=True,
        key_env=profile.key_env,
        factory=_COMPATIBLE_FACTORY,
        for_run=f"{_COMPATIBLE_FACTORY}.for_run",
        hyperparameters=OPENAI_HYPERPARAMETERS if profile.dpo else OPENAI_HYPERPARAMETERS[:-1],
        api_base_url=profile.base_url,
        profile=profile.name,
        models=profile.models,
        listed_prices=profile.prices,
        source=profile.source,
    )


def _entries() -> tuple[BackendInfo, ...]:
    """The built-in entries, then one per provider profile (hosted ones before ``local``)."""
    taken = {entry.name for entry in _STATIC}
    extra = tuple(_profile_entry(p) for p in profiles.profiles() if p.name not in taken)
    return (*_STATIC[:-1], *extra, _STATIC[-1])


def _by_name() -> dict[str, BackendInfo]:
    return {entry.name: entry for entry in _entries()}


def profile_problems() -> tuple[str, ...]:
    """What is wrong in the user's ``providers.toml`` (a profile skipped says why)."""
    taken = {entry.name for entry in _STATIC}
    clashes = tuple(
        f"{profiles.providers_file()}: profile {p.name!r} has a built-in backend's name; it is ignored."
        for p in profiles.profiles()
        if p.name in taken
    )
    return (*profiles.problems(), *clashes)


LOCAL = "local"
"""The local backend's name, for callers that offer it by default."""
DEFAULT_HOSTED = "openai"


def names() -> tuple[str, ...]:
    return tuple(_by_name())


def all_backends() -> tuple[BackendInfo, ...]:
    return _entries()


def hosted() -> tuple[BackendInfo, ...]:
    return tuple(entry for entry in _entries() if entry.hosted)


def hosted_names() -> tuple[str, ...]:
    return tuple(entry.name for entry in hosted())


def find(name: str | None) -> BackendInfo | None:
    """The entry called ``name``, or ``None``."""
    return _by_name().get(name or "")


def get(name: str) -> BackendInfo:
    """The entry called ``name``; ``UnknownBackend`` when there is none."""
    entry = _by_name().get(name)
    if entry is None:
        raise UnknownBackend(name)
    return entry


def is_hosted(name: str | None) -> bool:
    entry = find(name)
    return entry is not None and entry.hosted


def is_local(name: str | None) -> bool:
    entry = find(name)
    return entry is not None and not entry.hosted


def needs_endpoint(name: str | None) -> bool:
    """The backend is reached at an endpoint the user names (Azure OpenAI)."""
    entry = find(name)
    return entry is not None and entry.endpoint_setting


def label(name: str | None) -> str:
    entry = find(name)
    return entry.label if entry is not None else str(name or "?")


def for_provider(provider: Provider | str) -> BackendInfo | None:
    """The backend that trains on a catalog provider."""
    value = provider.value if isinstance(provider, Provider) else str(provider)
    return next(
        (entry for entry in _entries() if entry.provider and entry.provider.value == value), None
    )


def reconnect(run: RunFolder, *, secret: str | None = None) -> Backend:
    """The backend that launched ``run`` (by ``run.json``), connected as it was."""
    spec = run.read_spec()
    return get(spec.backend).reconnect(run, secret=secret)
