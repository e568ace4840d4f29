"""Text from a run folder or a provider is shown as text: control characters never reach a terminal."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from backends.hosted.job_mirror import JobMirror
from backends.runs.tail import TextTail, last_lines
from backends.runs.watch import RunWatch
from backends.text import printable, printable_line
from tests.support.damaged_runs import ESCAPES, no_raw_escapes
from tests.support.runs import NOW, hosted_spec, local_spec, store_at


def test_printable_shows_controls_and_keeps_text() -> None:
    assert printable("plain é 日本\tx\ny") == "plain é 日本\tx\ny"
    assert printable(ESCAPES) == "␛]0;TITLE␇␛[2J"
    assert printable("a\x7fb\x9bc\x00") == "a␡b\\x9bc␀"
    assert printable_line("a\nb\tc") == "a␊b␉c"


def test_tails_and_the_backlog_show_escapes_as_text(tmp_path: Path) -> None:
    folder = store_at(tmp_path / "ws").create(local_spec())
    folder.log(f"before{ESCAPES}after")
    watch = RunWatch(folder)
    backlog = watch.open(NOW)
    folder.log(f"again{ESCAPES}\x9b31m")
    update = watch.poll(NOW)
    shown = "\n".join([*backlog, *update.log_lines, *last_lines(folder.log_txt, 5)])
    assert "before␛]0;TITLE␇␛[2Jafter" in shown
    assert no_raw_escapes(shown)
    assert no_raw_escapes("\n".join(TextTail(folder.log_txt).read_text_lines()))


def test_provider_event_messages_are_cleaned_before_the_log(tmp_path: Path) -> None:
    folder = store_at(tmp_path / "ws").create(hosted_spec())
    mirror = JobMirror(folder, client=None, job_id="ftjob-1")
    event = SimpleNamespace(
        id="ev-1",
        level=f"warn{ESCAPES}",
        message=f"Step 1{ESCAPES}\nsecond line",
        created_at=NOW,
        type="message",
        data=None,
    )
    mirror._apply_events([event])
    text = folder.log_txt.read_text()
    assert no_raw_escapes(text.replace("\n", "")) and text.count("\n") == 1
    assert "Step 1␛]0;TITLE␇␛[2J␊second line" in text


def test_counts_agree_with_their_noun() -> None:
    """One pluralising helper (issue #11 item 19): never "1 warnings"."""
    from backends.text import counted

    assert counted(1, "warning") == "1 warning"
    assert counted(0, "error") == "0 errors"
    assert counted(4_000, "example") == "4,000 examples"
    assert counted(2, "entry", "entries") == "2 entries"


def test_a_state_reads_as_a_sentence() -> None:
    from backends.runs.values import RunState

    assert RunState.FAILED.phrase == "has failed"
    assert RunState.CANCELLED.phrase == "was cancelled"
    assert RunState.RUNNING.phrase == "is running"
