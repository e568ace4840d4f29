"""Epochs, percentiles, histogram, billing and cost."""

from __future__ import annotations

import numpy as np
import pytest

from backends.catalog import PRICES_AS_OF, Provider
from backends.data import InspectOptions, inspect_file
from backends.data.stats import (
    Distribution,
    Histogram,
    billing_tokens,
    costs_per_model,
    default_epochs,
    percentile,
)
from tests.support.data_files import good_chats


@pytest.mark.parametrize(
    ("examples", "epochs"),
    [
        (1, 25),
        (3, 25),
        (4, 25),
        (10, 10),
        (20, 5),
        (33, 3),
        (34, 3),
        (8333, 3),
        (8334, 2),
        (12_501, 1),
        (100_000, 1),
    ],
)
def test_default_epochs_follow_the_service_rule(examples, epochs):
    assert default_epochs(examples) == epochs


def test_percentiles_match_numpy():
    values = [5, 1, 9, 3, 3, 100, 42, 7]
    ordered = sorted(values)
    for p in (5, 50, 90, 95):
        assert percentile(ordered, p) == pytest.approx(np.percentile(values, p))
    d = Distribution.of(values)
    assert (d.min, d.max, d.total, d.count) == (1, 100, 170, 8)
    assert d.mean == pytest.approx(21.25)
    assert Distribution.of([]).count == 0


def test_histogram_covers_every_value():
    values = [*range(1, 1001), 5000]
    h = Histogram.of(values, bins=20)
    assert sum(h.counts) == len(values)
    assert h.edges[0] == 1 and h.edges[-1] == 5001
    assert len(h.edges) == len(h.counts) + 1
    assert Histogram.of([7, 7, 7]).counts == (3,)


def test_billing_caps_each_example():
    assert billing_tokens([10, 200, 50], 100) == 160
    assert billing_tokens([10, 200], None) == 210


def test_costs_use_catalog_prices_and_overrides():
    rows = costs_per_model(
        [10_000] * 99 + [20_000], 3, "o200k_base", "supervised", {"gpt-4o-mini": 1.0}
    )
    by_alias = {r.alias: r for r in rows}
    assert by_alias["gpt-4o-mini"].cost_usd == pytest.approx(3.03)  # overridden: $1/M × 3.03M
    assert by_alias["gpt-4.1"].cost_usd == pytest.approx(75.75)  # $25/M × 3.03M
    assert by_alias["gpt-4o-mini"].charged_tokens == 3_030_000
    assert (
        by_alias["gpt-3.5-turbo"].charged_tokens == (990_000 + 16_385) * 3
    )  # capped at its context
    assert by_alias["gpt-3.5-turbo"].counted_with_other_encoding
    assert "davinci-002" not in by_alias  # chat data: completion models are not offered
    azure = costs_per_model([1000], 1, "o200k_base", "supervised", provider=Provider.AZURE)
    assert all(r.cost_usd is None for r in azure)  # no public per-token price


def test_report_cost_and_epochs(write):
    report = inspect_file(write(good_chats(20)), InspectOptions(model="gpt-4o-mini", workers=1))
    assert report.epochs == 5 and report.epochs_auto
    assert report.charged_tokens == report.billing_tokens * 5
    assert report.price_per_1m == 3.0
    assert report.estimated_cost_usd == pytest.approx(round(report.charged_tokens * 3.0 / 1e6, 4))
    assert report.prices_as_of == PRICES_AS_OF
    fixed = inspect_file(write(good_chats(20), "b.jsonl"), InspectOptions(epochs=2, workers=1))
    assert fixed.epochs == 2 and not fixed.epochs_auto


def test_unknown_model_has_no_price(write):
    report = inspect_file(write(good_chats(20)), InspectOptions(model="gpt-9-ultra", workers=1))
    assert report.estimated_cost_usd is None and report.context_limit is None
    assert any("not in the" in note for note in report.approximations)
