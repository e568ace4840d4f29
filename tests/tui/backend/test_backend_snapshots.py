"""The Backend stage's three screens at 80x24 and 120x40 (fixed data, GPU, day; no key shown)."""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from tests.support.backend_stage import choose, scan_and_enter_backend, settle, until_estimated
from tests.support.decisions import SIZES


@pytest.mark.parametrize("size", SIZES)
def test_where(snap_compare, make_app, workdir, size) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=scan_and_enter_backend)


@pytest.mark.parametrize("size", SIZES)
def test_where_with_provider_profiles(snap_compare, make_app, workdir, size) -> None:
    """Every provider: built in, Nebius (no key), a providers.toml profile (its key set)."""
    import os

    from backends.locations import config_dir

    path = config_dir() / "providers.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '[providers.acme]\nlabel = "Acme AI"\nbase_url = "https://acme.invalid/v1"\n'
        'key_env = "ACME_API_KEY"\n'
    )
    os.environ["ACME_API_KEY"] = "acme-test-key"
    try:
        assert snap_compare(make_app(), terminal_size=size, run_before=scan_and_enter_backend)
    finally:
        del os.environ["ACME_API_KEY"]


@pytest.mark.parametrize("size", SIZES)
def test_where_after_openai_closed_offers_the_others(snap_compare, make_app, workdir, size) -> None:
    """A day after OpenAI's last for new jobs: OpenAI refused, the offers below the backends."""
    from datetime import date

    app = make_app(today=date(2027, 2, 1))
    assert snap_compare(app, terminal_size=size, run_before=scan_and_enter_backend)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("backend", ["openai", "local", "together"])
def test_settings(snap_compare, make_app, workdir, size, backend) -> None:
    async def run_before(pilot: Pilot) -> None:
        await scan_and_enter_backend(pilot)
        await choose(backend)(pilot)
        pilot.app.backend_choice.local_model = "tiny-model"
        await pilot.press("ctrl+n")
        await settle(pilot)
        if backend == "local":
            # Wait for the final estimate (it carries the breakdown below the fold, which
            # changes the scrollbar): the debounced rerun 0.4 s after the last change.
            await until_estimated(pilot)
            await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_launch_hosted(snap_compare, make_app, workdir, size, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-on-screen-0123456789")

    async def run_before(pilot: Pilot) -> None:
        await scan_and_enter_backend(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_launch_confirmation(snap_compare, make_app, workdir, size, monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-on-screen-0123456789")

    async def run_before(pilot: Pilot) -> None:
        await scan_and_enter_backend(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_launch_refused_offers_the_others(
    snap_compare, make_app, workdir, size, monkeypatch, refusing_emulator
) -> None:
    """OpenAI answered 403 ``training_not_available`` at job creation: the refusal, then the
    other backends with a comparable model each, the list focused (Enter takes one)."""
    from tests.support.backend_stage import to_launch, wait_until

    monkeypatch.setenv("OPENAI_BASE_URL", refusing_emulator.base_url)

    async def run_before(pilot: Pilot) -> None:
        screen = await to_launch(pilot, refusing_emulator.api_key)
        await pilot.press("ctrl+n", "y")
        await wait_until(lambda: screen.query_one("#offers").display and not screen.launching)
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)
