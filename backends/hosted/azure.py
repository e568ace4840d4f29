"""Azure OpenAI fine-tuning: the ``AzureOpenAI`` client, Azure's file rules, tiers and deployment.

The job API is OpenAI's (same follower, same mirror), reached at
``{endpoint}/openai/...?api-version=`` with an ``api-key`` header or an
Entra ID token, or through the v1 route ``{endpoint}/openai/v1/`` with the
plain client (``HostedSettings.base_url``).

A fine-tuned model on Azure answers nothing until it is *deployed*, which is
a management-plane call (Azure Resource Manager), not part of the OpenAI
API: ``deployment_instructions`` spells out the exact REST call and ``az``
command, and ``deploy`` performs it when ``azure-identity`` is installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backends.backend import Problem
from backends.catalog import HostedModel, Provider, hosted_models
from backends.hosted.backend import HostedBackend
from backends.hosted.settings import AZURE
from backends.runs.values import RunSpec

MAX_FILE_BYTES = 512 * 1024 * 1024
MIN_EXAMPLES = 10
SUFFIX_RE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
UTF8_BOM = b"\xef\xbb\xbf"

TRAINING_TYPES = {
    "standard": "Standard",
    "globalstandard": "GlobalStandard",
    "global": "GlobalStandard",
    "developer": "Developer",
}
"""Training tiers (``trainingType``): Standard (regional), Global, Developer (cheapest, no SLA)."""

ARM_API_VERSION = "2024-10-01"
ARM_SCOPE = "https://management.azure.com/.default"


def azure_models() -> list[HostedModel]:
    """Models Azure OpenAI fine-tunes (availability differs by region: check the resource's region)."""
    return hosted_models(Provider.AZURE)


def check_azure_file(path: Path, *, label: str = "training") -> list[Problem]:
    """Azure's rules for a training/validation file, read before anything is uploaded."""
    problems: list[Problem] = []
    try:
        size = path.stat().st_size
    except OSError:
        return problems  # reported by the generic checks
    where = str(path)
    if size > MAX_FILE_BYTES:
        problems.append(
            Problem(
                f"The {label} file is {size / 2**20:.0f} MB; Azure accepts at most 512 MB.",
                where=where,
            )
        )
    examples = 0
    with open(path, "rb") as handle:
        head = handle.read(3)
        handle.seek(0)
        for number, raw in enumerate(handle, start=1):
            line = raw[3:] if number == 1 and raw.startswith(UTF8_BOM) else raw
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as error:
                problems.append(
                    Problem(
                        f"The {label} file is not valid UTF-8 (line {number}, byte {error.start + 1}).",
                        where=f"{where}:{number}",
                    )
                )
                break
            if text.strip():
                examples += 1
    if examples < MIN_EXAMPLES:
        problems.append(
            Problem(
                f"The {label} file has {examples} examples; Azure needs at least {MIN_EXAMPLES}.",
                where=where,
            )
        )
    if head != UTF8_BOM:
        problems.append(
            Problem(
                f"Azure documents UTF-8 with a byte-order mark for {label} files; this one has none "
                "(usually accepted; add one if Azure reports an encoding error).",
                fatal=False,
                where=where,
            )
        )
    return problems


def normalise_training_type(value: str) -> str | None:
    return TRAINING_TYPES.get(value.replace("-", "").replace("_", "").replace(" ", "").lower())


@dataclass(frozen=True)
class DeploymentTarget:
    subscription_id: str
    resource_group: str
    account: str
    """The Azure OpenAI resource name."""
    deployment: str
    sku: str = "Standard"
    capacity: int = 1


def deployment_url(target: DeploymentTarget) -> str:
    return (
        f"https://management.azure.com/subscriptions/{target.subscription_id}"
        f"/resourceGroups/{target.resource_group}/providers/Microsoft.CognitiveServices"
        f"/accounts/{target.account}/deployments/{target.deployment}?api-version={ARM_API_VERSION}"
    )


def deployment_body(model_id: str, target: DeploymentTarget) -> dict[str, Any]:
    return {
        "sku": {"name": target.sku, "capacity": target.capacity},
        "properties": {"model": {"format": "OpenAI", "name": model_id, "version": "1"}},
    }


def deployment_instructions(model_id: str, target: DeploymentTarget | None = None) -> str:
    """How to deploy ``model_id``: the REST call and the ``az`` command, filled in as far as known."""
    target = target or DeploymentTarget(
        "<subscription-id>", "<resource-group>", "<resource-name>", "<deployment-name>"
    )
    body = deployment_body(model_id, target)
    return "\n".join(
        [
            f"The fine-tuned model {model_id} must be deployed before it can answer "
            "(a separate Azure management step; hosting is billed per hour).",
            "",
            "With the Azure CLI:",
            f"  az cognitiveservices account deployment create --resource-group {target.resource_group} "
            f"--name {target.account} --deployment-name {target.deployment} --model-name {model_id} "
            f"--model-version 1 --model-format OpenAI --sku-name {target.sku} --sku-capacity {target.capacity}",
            "",
            "Or the REST call (token from `az account get-access-token`):",
            f'  curl -X PUT "{deployment_url(target)}" \\',
            '    -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\',
            f"    -d '{_compact_json(body)}'",
        ]
    )


def _compact_json(value: Any) -> str:
    import orjson

    return orjson.dumps(value).decode()


def deploy(model_id: str, target: DeploymentTarget, *, timeout: float = 60.0) -> dict[str, Any]:
    """Create the deployment through Azure Resource Manager (needs ``azure-identity``); returns ARM's answer."""
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError as error:
        raise RuntimeError(
            "Deploying from here needs the azure-identity package (pip install azure-identity); "
            "or run the az command shown."
        ) from error
    import httpx2

    token = DefaultAzureCredential().get_token(ARM_SCOPE).token
    response = httpx2.put(
        deployment_url(target),
        json=deployment_body(model_id, target),
        headers={"Authorization": f"Bearer {token}"},
        timeout=timeout,
    )
    if response.status_code >= 400:
        raise RuntimeError(
            f"Azure refused the deployment ({response.status_code}): {response.text[:500]}"
        )
    return dict(response.json())


class AzureBackend(HostedBackend):
    """Fine-tuning on Azure OpenAI."""

    name = AZURE
    label = "Azure OpenAI"
    provider = Provider.AZURE
    supports_pause = True

    def prepare(self, spec: RunSpec) -> list[Problem]:
        problems = super().prepare(spec)
        for label, path in (("training", spec.dataset), ("validation", spec.validation)):
            if path and Path(path).is_file():
                problems.extend(check_azure_file(Path(path), label=label))
        training_type = spec.settings.get("training_type")
        if training_type and normalise_training_type(str(training_type)) is None:
            problems.append(
                Problem(
                    f"Unknown training tier {training_type!r}: use Standard, GlobalStandard or Developer.",
                    where="training_type",
                )
            )
        return problems

    def _check_suffix(self, suffix: str | None) -> list[Problem]:
        if suffix and not SUFFIX_RE.match(suffix):
            return [
                Problem(
                    "On Azure the suffix is at most 40 characters of letters, digits, '_' and '-'.",
                    where="suffix",
                )
            ]
        return []

    def deployment_instructions(self, model_id: str, target: DeploymentTarget | None = None) -> str:
        return deployment_instructions(model_id, target)
