"""The Dataset stage driven by keys: pick, scan with progress, tabs, findings, figures into Cost."""

from __future__ import annotations

from pathlib import Path

import orjson
from textual.widgets import Input, TabbedContent

from tests.support.dataset_stage import to_pick, wait_for_scan
from tests.support.datasets import copy_sample, write_big, write_broken
from tests.support.decisions import complete_answers, write_decision
from tests.support.helpers import until
from tui.screens.dataset import DatasetPickScreen, DatasetReportScreen
from tui.screens.dataset.browse import FindingScreen
from tui.screens.dataset.chat_view import ChatView
from tui.screens.decide import CostScreen, RecommendationScreen


async def to_dataset(pilot) -> None:
    await to_pick(pilot)


async def scan(pilot, train: str, validation: str = "") -> DatasetReportScreen:
    screen = pilot.app.screen
    assert isinstance(screen, DatasetPickScreen)
    screen.query_one("#train-path", Input).value = train
    screen.query_one("#validation-path", Input).value = validation
    await pilot.pause()
    await pilot.press("ctrl+n")
    await pilot.pause()
    await wait_for_scan(pilot)
    report_screen = pilot.app.screen
    assert isinstance(report_screen, DatasetReportScreen)
    return report_screen


async def test_the_recommendation_leads_to_the_dataset_step(make_app, in_tmp: Path) -> None:
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for _ in range(4):
            await pilot.press("ctrl+n")
            await pilot.pause()
        assert isinstance(app.screen, RecommendationScreen)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, DatasetPickScreen)
        # The Cost step's model is the one the figures are for.
        assert app.screen.query_one("#model", Input).value == "gpt-4o-mini"


async def test_sample_dataset_scan_fills_the_checklist_figures(make_app, in_tmp: Path) -> None:
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await to_dataset(pilot)
        await pilot.press("f3")
        await pilot.press("ctrl+n")
        await pilot.pause()
        await wait_for_scan(pilot)
        screen = app.screen
        assert isinstance(screen, DatasetReportScreen)
        assert screen.report is not None and screen.report.ok
        assert screen.report.validation is not None and screen.report.validation.examples == 12
        assert "Ready to train" in str(screen.query_one("#data-verdict").render())
        assert screen.check_action("next", ()) is True  # on to the Backend stage
    measured = orjson.loads(Path(".finetune/decision.json").read_bytes())["answers"]["measured"]
    assert measured["examples"] == 60
    assert measured["training_tokens"] == screen.report.charged_tokens
    assert measured["training_cost"] == screen.report.estimated_cost_usd
    assert measured["source"].endswith("chainline_train.jsonl")


async def test_measured_figures_show_on_the_cost_step(make_app, in_tmp: Path) -> None:
    train, valid = copy_sample(in_tmp)
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await to_dataset(pilot)
        report = (await scan(pilot, str(train), str(valid))).report
        app.go_to(CostScreen.position)
        await pilot.pause()
        assert isinstance(app.screen, CostScreen)
        measured = str(app.screen.query_one("#measured").render())
        assert "Examples in the dataset   60" in measured
        assert f"Billed training tokens    {report.charged_tokens:,}" in measured


async def test_a_missing_file_blocks_next_with_a_reason(make_app, in_tmp: Path) -> None:
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await to_dataset(pilot)
        screen = app.screen
        screen.query_one("#train-path", Input).value = "nope.jsonl"
        await pilot.pause()
        assert screen.check_action("next", ()) is None
        assert "nope.jsonl: no such file" in str(screen.query_one("#nav-message").render())


async def test_findings_open_the_offending_line(make_app, in_tmp: Path) -> None:
    broken = write_broken(in_tmp / "broken.jsonl")
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await to_dataset(pilot)
        screen = await scan(pilot, str(broken))
        assert screen.report is not None and not screen.report.ok
        assert "errors: fix them before training" in str(screen.query_one("#data-verdict").render())
        screen.query_one("#report-tabbed", TabbedContent).active = "tab-findings"
        await pilot.pause()
        table = screen.query_one("#findings-table")
        table.focus()
        codes = [group.code for _, group in table.groups]
        assert "invalid_json" in codes
        table.move_cursor(row=codes.index("invalid_json"))
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, FindingScreen)

        def example_text() -> str:
            example = app.screen.query_one("#finding-example")
            return " ".join(str(w.render()) for w in example.query("Static, Label"))

        await until(pilot, lambda: "line 4" in example_text(), "the finding's example")
        text = example_text()
        assert "cut off" in text
        await pilot.press("escape")
        assert isinstance(app.screen, DatasetReportScreen)


async def test_examples_tab_renders_the_highlighted_chat(make_app, in_tmp: Path) -> None:
    train, _ = copy_sample(in_tmp)
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await to_dataset(pilot)
        screen = await scan(pilot, str(train))
        screen.query_one("#report-tabbed", TabbedContent).active = "tab-examples"
        await pilot.pause()
        table = screen.query_one("#examples-table")
        table.focus()
        await pilot.press("down")
        await pilot.pause()
        chat = screen.query_one("#example-chat", ChatView)
        assert chat.example is not None and chat.example["messages"][0]["role"] == "system"
        await pilot.press("s")  # longest first
        await pilot.pause()
        first = table.get_row_at(0)
        assert int(first[2].replace(",", "")) == screen.report.tokens.max


async def test_escape_cancels_a_long_scan_and_keeps_a_partial_report(
    make_app, in_tmp: Path, monkeypatch
) -> None:
    """Escape during a scan stops the scan process and shows what it read.

    The real scan process runs; the wrapper only holds it back until Escape was
    pressed, so the test does not race a fast machine.
    """
    from backends.data import scan_process

    real = scan_process.inspect_in_subprocess

    def after_escape(source, validation, options, progress=None, cancel=None):
        assert cancel is not None and cancel.wait(30)
        return real(source, validation, options, progress, cancel)

    monkeypatch.setattr(scan_process, "inspect_in_subprocess", after_escape)
    big = write_big(in_tmp / "big.jsonl", 40)
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await to_dataset(pilot)
        app.screen.query_one("#train-path", Input).value = str(big)
        await pilot.pause()
        await pilot.press("ctrl+n")
        screen = app.screen
        assert isinstance(screen, DatasetReportScreen)
        await pilot.press("escape")
        assert "Cancelling" in str(screen.query_one("#scan-hint").render())
        await wait_for_scan(pilot)
        assert app.screen is screen
        assert screen.report is not None and screen.report.cancelled
        assert screen.report.examples < big.read_bytes().count(b"\n")
        assert "Scan cancelled" in str(screen.query_one("#data-verdict").render())
    measured = orjson.loads(Path(".finetune/decision.json").read_bytes())["answers"]["measured"]
    assert measured["examples"] is None  # a partial scan is never recorded as the measurement


async def test_alpaca_data_converts_to_a_new_chat_file_and_is_inspected(
    make_app, in_tmp: Path
) -> None:
    alpaca = in_tmp / "alpaca.jsonl"
    rows = [
        {"instruction": f"Name part {n} of a bike.", "input": "", "output": f"Part {n}: a spoke."}
        for n in range(25)
    ]
    alpaca.write_bytes(b"\n".join(orjson.dumps(row) for row in rows) + b"\n")
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await to_dataset(pilot)
        screen = await scan(pilot, str(alpaca))
        assert screen.report.format == "alpaca"
        await pilot.click("#convert-button")
        await until(pilot, lambda: app.screen is not screen, "the chat copy's report")
        await wait_for_scan(pilot)
        screen = app.screen
        assert isinstance(screen, DatasetReportScreen)
        assert screen.report is not None and screen.report.format == "chat"
        assert screen.report.source.endswith("alpaca.chat.jsonl")
    assert alpaca.read_bytes().count(b"\n") == 25  # the original is untouched
    assert (in_tmp / "alpaca.chat.jsonl").read_bytes().count(b'"role":"assistant"') == 25


async def test_split_writes_two_new_files_and_refuses_to_overwrite(make_app, in_tmp: Path) -> None:
    train, _ = copy_sample(in_tmp)
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await to_dataset(pilot)
        first = await scan(pilot, str(train))
        await pilot.click("#split-button")
        await until(pilot, lambda: app.screen is not first, "the split's report")
        await wait_for_scan(pilot)
        screen = app.screen
        assert screen.report.validation is not None
        assert screen.report.examples + screen.report.validation.examples == 60
        assert screen.report.validation.examples == 6
        # Once more from the original: the targets exist now, so nothing is written.
        app.go_to(DatasetPickScreen.position)
        await pilot.pause()
        await scan(pilot, str(train))
        before = sorted(p.name for p in in_tmp.iterdir())
        await pilot.click("#split-button")
        await until(
            pilot,
            lambda: "already exists" in " ".join(n.message for n in app._notifications),
            "the split refused",
        )
        assert sorted(p.name for p in in_tmp.iterdir()) == before


async def test_local_models_are_counted_with_their_own_tokenizer(make_app, in_tmp: Path) -> None:
    import pytest

    pytest.importorskip("transformers")
    from textual.widgets import Select

    from backends.catalog import Provider
    from tests.support.tiny_model import build_tiny_model

    model = build_tiny_model(in_tmp / "tiny")
    train, _ = copy_sample(in_tmp)
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await to_dataset(pilot)
        screen = app.screen
        assert not screen.query_one("#max-length-field").display
        screen.query_one("#provider", Select).value = Provider.LOCAL
        await pilot.pause()
        assert screen.query_one("#max-length-field").display
        screen.query_one("#model", Input).value = str(model)
        screen.query_one("#max-length", Input).value = "150"
        report = (await scan(pilot, str(train))).report
        assert report.encoding.exact and report.encoding.engine == "transformers"
        assert str(model) in report.encoding.used
        # The sample defines tools, which this tiny template cannot render: a counted warning
        # with its lines (local training skips those examples, as the worker does).
        from backends.data.findings import Severity

        skipped = [g for g in report.groups(Severity.WARNING) if g.code == "tools_unrendered"]
        assert skipped and skipped[0].count > 0 and skipped[0].samples[0].line
        assert report.context_limit == 150
        assert 0 < report.over_limit < report.examples
        assert report.over_limit == sum(1 for count in report.token_counts if count > 150)


async def test_dataset_text_reaches_the_screen_as_text() -> None:
    from textual.app import App, ComposeResult
    from textual.widgets import Label, Static

    from tests.support.damaged_runs import ESCAPES

    example = {
        "messages": [
            {"role": f"user{ESCAPES}", "content": f"hi{ESCAPES}[b]bold[/b]"},
            {"role": "assistant", "content": f"ok{ESCAPES}"},
        ]
    }

    class Viewer(App[None]):
        def compose(self) -> ComposeResult:
            yield ChatView(example, id="chat")

    async with Viewer().run_test() as pilot:
        await pilot.pause()
        shown = [str(w.render()) for w in pilot.app.query(Static)] + [
            str(w.render()) for w in pilot.app.query(Label)
        ]
        text = "\n".join(shown)
        assert "\033" not in text and "\007" not in text
        assert "hi␛]0;TITLE␇␛[2J[b]bold[/b]" in text  # visible, and no markup taken from data


async def test_focus_lands_on_the_report_tabs_and_right_switches_them(
    make_app, in_tmp: Path
) -> None:
    """Never on Back: the tabs, where Left/Right work (#11 items 3 and 6)."""
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await to_dataset(pilot)
        await pilot.press("f3")
        await pilot.press("ctrl+n")
        await pilot.pause()
        await wait_for_scan(pilot)
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        assert screen.focused is not None and screen.focused.id != "back-button", screen.focused
        tabs = screen.query_one(TabbedContent)
        first = tabs.active
        await pilot.press("right")
        await pilot.pause()
        await pilot.pause()
        assert tabs.active != first


async def test_the_highlighted_finding_shows_its_fix_under_the_table(
    make_app, in_tmp: Path
) -> None:
    """At 80 columns "What" is cut: the line under the table says what, where and the fix (#11)."""
    from backends.data.findings import CHECKS
    from tests.support.screen_text import joined, screen_rows

    broken = write_broken(in_tmp / "broken.jsonl")
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await to_dataset(pilot)
        screen = await scan(pilot, str(broken))
        screen.query_one("#report-tabbed", TabbedContent).active = "tab-findings"
        await pilot.pause()
        table = screen.query_one("#findings-table")
        table.focus()
        codes = [group.code for _, group in table.groups]
        for code in ["invalid_json", codes[-1]]:
            table.move_cursor(row=codes.index(code))
            await pilot.pause()
            info = CHECKS[code]
            shown = joined(app)
            assert "".join(f"{info.title} (train,".split()) in shown
            assert "".join(f"Fix: {info.fix}".split()) in shown
            assert any(row.lstrip().startswith("error    invalid_json") for row in screen_rows(app))


async def test_a_long_path_put_in_a_field_shows_its_file_name(make_app, in_tmp: Path) -> None:
    """F3 or a file picked in the tree: the field shows the path's end, however deep the checkout."""
    from tests.support.screen_text import screen_rows
    from tui.screens.dataset.pick import show_path

    deep = in_tmp / ("deeply-nested-folder-" * 4) / "talks_for_training.jsonl"
    write_decision(complete_answers())
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await to_dataset(pilot)
        show_path(app.screen.query_one("#train-path", Input), deep)
        await until(
            pilot,
            lambda: any("talks_for_training.jsonl" in row for row in screen_rows(app)),
            "the file name",
        )
        await pilot.press("f3")
        await until(
            pilot, lambda: any("chainline_valid" in row for row in screen_rows(app)), "F3's file"
        )
        rows = screen_rows(app)
        assert any("chainline_train.jsonl" in row for row in rows), "\n".join(rows)
