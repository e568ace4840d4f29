"""Text from outside the program (a run folder, a dataset, a provider) made safe to show.

A log line, an error message or a model name may carry terminal control
sequences: ``ESC ]0;title BEL`` retitles the terminal, ``ESC [2J`` clears it.
``printable`` turns every control character except newline and tab into a
visible stand-in, so such text is shown as text and never acted on by a
terminal. Call it where text leaves a file or a provider for a screen or a log.
"""

from __future__ import annotations

import re

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # ␀ … ␟ (ESC shows as ␛)
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"\\x{code:02x}"  # C1: shown as its escape


def printable(text: str) -> str:
    """``text`` with C0 controls (but ``\\n`` and ``\\t``), DEL and C1 controls made visible."""
    if text.isprintable():
        return text
    return _CONTROL_RE.sub(_visible, text)


def printable_line(text: str) -> str:
    """Like ``printable`` but for one line: newlines and tabs are made visible too."""
    if text.isprintable():
        return text
    return _LINE_CONTROL_RE.sub(_visible, text)


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``number`` and ``noun`` in agreement, with thousands separators: 1 warning, 2 warnings."""
    word = noun if number == 1 else (plural or noun + "s")
    return f"{number:,} {word}"
