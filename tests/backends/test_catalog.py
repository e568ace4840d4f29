from backends.catalog import (
    CATALOG,
    Provider,
    base_of_fine_tuned,
    find_hosted,
)


def test_every_entry_is_complete() -> None:
    for entry in CATALOG:
        assert entry.methods, entry.name
        assert entry.context_tokens >= 4096, entry.name
        assert entry.encoding in {"o200k_base", "cl100k_base"}, entry.name
        if entry.provider is Provider.OPENAI and "supervised" in entry.methods:
            assert entry.prices.training is not None, entry.name


def test_alias_snapshot_and_fine_tuned_model_resolve_to_the_same_entry() -> None:
    snapshot = find_hosted(Provider.OPENAI, "gpt-4o-mini-2024-07-18")
    assert find_hosted(Provider.OPENAI, "gpt-4o-mini") is snapshot
    assert find_hosted(Provider.OPENAI, "ft:gpt-4o-mini-2024-07-18:acme::a1b2c3") is snapshot
    assert base_of_fine_tuned("ft:gpt-4o-mini-2024-07-18:acme::a1b2c3") == "gpt-4o-mini-2024-07-18"
    assert base_of_fine_tuned("gpt-4o-mini") is None
