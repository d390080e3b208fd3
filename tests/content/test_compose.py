"""A prompt with values as the pieces a person records: fixed words named after the prompt, each value
its own pieces (numbers, keys by name, periods, keys pressed in a row)."""
from __future__ import annotations

from hotline.content.compose import common, compose
from hotline.content.values import Piece


def test_fixed_words_are_named_after_the_prompt_and_the_value_before_them() -> None:
    city, address = (Piece("value.city.almaty", "Алматы"),), (Piece("value.address.almaty", "Достық даңғылы, 85"),)
    assert compose("office.read", "{city}. Мекенжайы: {address}. Тағы да: {address}.",
                   {"city": city, "address": address}) == (
        Piece("value.city.almaty", "Алматы"), Piece("office.read.after_city", "Мекенжайы:"),
        Piece("value.address.almaty", "Достық даңғылы, 85"), Piece("office.read.after_address", "Тағы да:"),
        Piece("value.address.almaty", "Достық даңғылы, 85"))


def test_every_shared_value_of_the_fixture_is_made_of_recordable_pieces(content) -> None:
    pieces = common(content, "kk")
    assert pieces["filing"] == (Piece("value.number.5", "бес"), Piece("period.days.other.after_n", "күнтізбелік күн"))
    assert pieces["appeal"] == (Piece("value.number.3", "үш"), Piece("period.months.other.after_n", "ай"))
    assert pieces["undo_days"] == (Piece("value.number.2", "екі"), Piece("period.days.other.after_n", "күнтізбелік күн"))
    assert pieces["back"] == (Piece("key.star", "жұлдызша"),) and pieces["main"] == (Piece("value.number.0", "нөл"),)
    assert [p.key for p in pieces["stop_keys"]] == [f"value.number.{k}" for k in "76"]
