"""The fixed day and instant every test lives on."""

from __future__ import annotations

from datetime import date, datetime, timezone

TODAY = date(2026, 11, 24)
"""The day every test lives on: 43 days before OpenAI stops taking new fine-tuning jobs."""


def fixed_clock() -> datetime:
    return datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc)
