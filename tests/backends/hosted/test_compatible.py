"""An OpenAI-compatible fine-tuning API: the OpenAI emulator at another base URL, driven through
a provider profile (built in, ``providers.toml``) or by address (``--backend compatible``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends import control, profiles, registry
from backends.backend import BackendError
from backends.hosted.compatible import CompatibleBackend
from backends.hosted.spec import hosted_spec
from backends.locations import config_dir
from backends.runs import RunStore
from backends.runs.values import RunState
from tests.fakes.finetune_api import FineTuneAPI
from tests.support.helpers import files_containing, wait_for
from tests.support.runs import ended
from tui.cli import main

MODEL = "gpt-4o-mini-2024-07-18"


def write_profile(base_url: str, **extra: str) -> Path:
    path = config_dir() / profiles.PROVIDERS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "[providers.acme]",
        'label = "Acme AI"',
        f'base_url = "{base_url}"',
        'key_env = "ACME_API_KEY"',
        f'models = ["{MODEL}"]',
        "pause = false",
        f'prices = {{ "{MODEL}" = 2.5 }}',
        *(f"{k} = {v}" for k, v in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_built_in_nebius_profile_is_a_registry_entry() -> None:
    nebius = registry.get("nebius")
    assert nebius.label == "Nebius Token Factory" and nebius.hosted
    assert nebius.api_base_url == "https://api.tokenfactory.nebius.com/v1/"
    assert nebius.key_env == "NEBIUS_API_KEY"
    assert "nebius" in registry.hosted_names() and "compatible" in registry.names()
    assert registry.names()[-1] == "local"
    availability = nebius.create().availability()
    assert not availability.ok and "NEBIUS_API_KEY" in availability.reason


def test_user_profile_launches_follows_and_cancels(
    emulator: FineTuneAPI, dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile(emulator.base_url)
    monkeypatch.setenv("ACME_API_KEY", emulator.api_key)
    info = registry.get("acme")
    assert (info.label, info.objectives, info.pause) == ("Acme AI", ("supervised",), False)
    backend = info.create()
    assert isinstance(backend, CompatibleBackend) and backend.availability().ok
    assert backend.models()[:1] and MODEL in backend.models()  # the API's /models answered
    store = RunStore(tmp_path / "ws" / "runs")
    folder = backend.launch(hosted_spec("acme", model=MODEL, data=str(dataset)), store)
    wait_for(lambda: ended(folder))
    status = folder.read_status()
    assert status.state is RunState.SUCCEEDED and status.fine_tuned_model
    steps = [p.step for p in folder.load_metrics() if p.train_loss is not None]
    assert steps == sorted(set(steps)) and steps[-1] == 12
    assert folder.read_spec().settings["connection"]["key_env"] == "ACME_API_KEY"
    assert files_containing(tmp_path / "ws", emulator.api_key) == []

    emulator.auto_advance = False
    second = info.create(start_followers=False).launch(
        hosted_spec("acme", model=MODEL, data=str(dataset)), store
    )
    assert "Cancel" in control.cancel(second)
    assert emulator.jobs[second.read_status().job_id].status in ("cancelled", "cancelling")
    with pytest.raises(BackendError, match="paus"):
        control.pause(second)


def test_profile_without_its_key_is_unavailable_with_the_reason(emulator: FineTuneAPI) -> None:
    write_profile(emulator.base_url)
    availability = registry.get("acme").create().availability()
    assert not availability.ok
    assert "ACME_API_KEY" in availability.reason and "ACME_API_KEY" in availability.hint


def test_unsupported_dpo_is_refused_before_any_upload(
    emulator: FineTuneAPI, dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile(emulator.base_url)
    monkeypatch.setenv("ACME_API_KEY", emulator.api_key)
    backend = registry.get("acme").create(start_followers=False)
    spec = hosted_spec("acme", model=MODEL, data=str(dataset), method="dpo")
    [problem] = backend.prepare(spec)
    assert problem.fatal and problem.message == "Acme AI trains supervised only (for now)."
    with pytest.raises(BackendError, match="supervised only"):
        backend.launch(spec, RunStore(tmp_path / "runs"))
    assert emulator.files == {} and emulator.requests == []


def test_bad_profiles_are_skipped_with_a_message(tmp_path: Path) -> None:
    path = config_dir() / profiles.PROVIDERS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '[providers.good]\nbase_url = "https://good.example/v1"\nkey_env = "GOOD_KEY"\n'
        '[providers.bad]\nbase_url = "ftp://nowhere"\nkey_env = "BAD_KEY"\n'
        '[providers.openai]\nbase_url = "https://x.example/v1"\nkey_env = "X_KEY"\n'
    )
    assert registry.find("good") is not None and registry.find("bad") is None
    assert registry.get("openai").factory.endswith("OpenAIBackend")  # a built-in wins
    problems = registry.profile_problems()
    assert any("'bad'" in p and "base_url" in p for p in problems)
    assert any("'openai'" in p and "built-in" in p for p in problems)
    path.write_text("[providers.broken\n")
    assert "not a valid providers file" in registry.profile_problems()[0]
    assert registry.find("nebius") is not None


def test_cli_compatible_by_address(
    emulator: FineTuneAPI,
    dataset: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MY_PROVIDER_KEY", emulator.api_key)
    workspace = str(tmp_path / "ws")
    address = ["--base-url", emulator.base_url, "--key-env", "MY_PROVIDER_KEY"]
    code = main(
        ["--workspace", workspace, "train", "--backend", "compatible", *address,
         "--model", MODEL, "--data", str(dataset), "--yes"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Fine-tuned model: ft:" in out
    assert main(["jobs", "--backend", "compatible", *address]) == 0
    out, err = capsys.readouterr()
    assert MODEL in out and "attach JOB_ID --backend compatible" in out
    assert main(["jobs", "--backend", "openai", *address]) == 2
    assert "--base-url and --key-env are for --backend compatible" in capsys.readouterr().err
    assert main(["jobs", "--backend", "compatible"]) == 1
    assert "base URL" in capsys.readouterr().err
    assert files_containing(tmp_path / "ws", emulator.api_key) == []


def test_cli_dpo_on_a_profile_without_it_is_refused(
    emulator: FineTuneAPI,
    dataset: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_profile(emulator.base_url)
    monkeypatch.setenv("ACME_API_KEY", emulator.api_key)
    code = main(
        ["train", "--backend", "acme", "--model", MODEL, "--data", str(dataset),
         "--method", "dpo", "--yes"]
    )  # fmt: skip
    assert code == 2
    assert "Acme AI trains supervised only" in capsys.readouterr().err
    assert emulator.files == {}


def test_the_providers_model_list_is_kept_and_checked_against(
    emulator: FineTuneAPI, dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile(emulator.base_url)
    backend = registry.get("acme").create()
    assert isinstance(backend, CompatibleBackend)
    # no key: the profile's list, no call, no error
    assert backend.model_list().source == "Acme AI's profile"
    assert list(backend.models()) == [MODEL]
    monkeypatch.setenv("ACME_API_KEY", emulator.api_key)
    listed = backend.models()  # the API's /models, kept in the cache folder
    assert MODEL in listed and len(listed) > 1
    kept = backend.model_list()
    assert kept.fetched is not None and kept.source.startswith("from Acme AI's API, fetched ")
    other = listed[-1]
    spec = hosted_spec("acme", model=other, data=str(dataset))
    assert not [p for p in backend.prepare(spec) if p.where == "model"]
    unknown = backend.prepare(hosted_spec("acme", model="no-such-model", data=str(dataset)))
    [said] = [p for p in unknown if p.where == "model"]
    assert not said.fatal and "from Acme AI's API" in said.message
