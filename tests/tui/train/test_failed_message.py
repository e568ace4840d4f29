"""A failed run's message is wrapped and whole at 80x24: in its monitor and in the runs list."""

from __future__ import annotations

from backends.runs import RunStore
from tests.support.runs import local_failed
from tests.support.screen_text import joined
from tui.screens.monitor import MonitorScreen
from tui.screens.runs import RunsScreen

LONG = (
    "The data has tool calls, but the chat template of /models/tiny cannot render them: "
    "lines 3, 7 and 12 would lose their tool calls and the model would learn replies without "
    "them. Choose a model whose chat template renders tools (its tokenizer_config.json has "
    "tools in chat_template), or remove the tool calls from the data. The details are in "
    "debug.txt next to this run's log."
)


async def test_the_whole_message_shows_at_80x24(make_app, app_store: RunStore) -> None:
    failed = local_failed(app_store)
    failed.update_status(error=LONG)
    app = make_app(gpu_probe=list)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.open_monitor(failed)
        await pilot.pause()
        assert isinstance(app.screen, MonitorScreen)
        assert ("Failed: " + LONG).replace(" ", "") in joined(app)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f5")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)
        assert LONG.replace(" ", "") in joined(app)
