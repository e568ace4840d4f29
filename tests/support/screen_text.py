"""What a running app shows, as plain text rows (read from its screenshot, as a person sees it)."""

from __future__ import annotations

import html
import re

from textual.app import App

_TEXT = re.compile(r'<text[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>')


def screen_rows(app: App) -> list[str]:
    """The screen's rows, top to bottom (trailing blanks dropped)."""
    rows: dict[float, str] = {}
    for match in _TEXT.finditer(app.export_screenshot()):
        y = float(match.group(1))
        rows[y] = rows.get(y, "") + html.unescape(match.group(2)).replace("\xa0", " ")
    return [rows[y].rstrip() for y in sorted(rows)]


def joined(app: App) -> str:
    """The screen's text with spaces, line ends and border glyphs out: wrapped text reads whole."""
    text = "".join(screen_rows(app))
    return re.sub(r"[\s█▌▐│┃]", "", text)
