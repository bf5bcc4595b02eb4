"""service.privacy: contact data inside customer texts is masked; ordinary numbers (dates, prices, ratings, ids) are
not."""

import pytest

from service.privacy import CARD_MASK, EMAIL_MASK, PHONE_MASK, luhn_ok, redact, redact_evidence, redact_profile


@pytest.mark.parametrize(
    "text, expected",
    [
        ("mail me at jane.doe+shop@example.co.uk today", f"mail me at {EMAIL_MASK} today"),
        ("JOHN_SMITH@Mail.Example.com", EMAIL_MASK),
        ("two: a@b.io, c.d@e-f.de.", f"two: {EMAIL_MASK}, {EMAIL_MASK}."),
        ("Call me at +1 (415) 555-0100 please", f"Call me at {PHONE_MASK} please"),
        ("+44 20 7946 0958", PHONE_MASK),
        ("my number 0171 1234567", f"my number {PHONE_MASK}"),
        ("phone: 030/1234567", f"phone: {PHONE_MASK}"),
        ("415.555.0100", PHONE_MASK),
        ("01711234567", PHONE_MASK),
    ],
)
def test_masks_emails_and_phones(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "ordered 2 items on 2025-11-02 for $1,234.56",
        "on 12/11/2025 it broke",
        "order O00000123 arrived, rating 4/5",
        "year 2024, size 10 x 20 x 30 cm, 3 pack 100ml",
        "model XJ-9000 v2 at 10:30",
        "ref 1234567890123",
        "Very pleased with this usb-c cable.",
        "Customer service ignored all my emails about the broken kettle.",
    ],
)
def test_leaves_ordinary_text_alone(text):
    assert redact(text, cards=True) == text


def test_cards_masked_by_default_and_only_luhn_valid():
    text = "card 4111 1111 1111 1111 and 4111-1111-1111-1112"
    masked = redact(text)  # on by default, wherever e-mails and phones are masked
    assert masked == f"card {CARD_MASK} and 4111-1111-1111-1112"
    assert "4111 1111 1111 1111" in redact(text, cards=False)  # can still be switched off
    assert redact("5500005555555559") == CARD_MASK
    assert luhn_ok("79927398713") and not luhn_ok("79927398710") and not luhn_ok("12a4")


@pytest.mark.parametrize(
    "card",
    [
        "4111111111111111",  # plain 16 digits (Visa test number)
        "4111 1111 1111 1111",  # grouped by spaces
        "5555-5555-5555-4444",  # grouped by hyphens (Mastercard test number)
        "378282246310005",  # 15-digit Amex, plain
        "3782 822463 10005",  # Amex as printed, 4-6-5
        "6011 0009 9013 9424",  # Discover
    ],
)
def test_card_formats(card):
    assert redact(f"paid with {card}, thanks") == f"paid with {CARD_MASK}, thanks"
    assert redact(card) == CARD_MASK


def test_card_inside_a_longer_digit_run_is_still_found():
    # "2 4111 ..." is a 17-digit run that fails Luhn as a whole; the card inside it is masked all the same.
    assert redact("qty 2 4111 1111 1111 1111 please") == f"qty 2 {CARD_MASK} please"
    assert redact("cards 4111111111111111 and 5555-5555-5555-4444.") == f"cards {CARD_MASK} and {CARD_MASK}."


@pytest.mark.parametrize(
    "text",
    [
        "order ref 4111111111111112 arrived",  # 16 digits, not Luhn-valid: an order reference
        "order ref 1234 5678 9012 3456 arrived",
        "paid $1234567.89 and 1,234.56 EUR; 0.1234567 kg",
        "10 20 30 40 50 60 70 80 90",  # numbers in a list are not a card, whatever Luhn says
        "shipped 2025-11-02T10:30:00Z, delivered 12/11/2025",
    ],
)
def test_order_numbers_prices_and_dates_survive(text):
    assert redact(text) == text


def test_idempotent_and_none_safe():
    text = "write to a@b.io or call +49 30 1234567"
    once = redact(text, cards=True)
    assert redact(once, cards=True) == once
    assert redact(None) is None and redact("") == ""


def test_profile_and_evidence_copies():
    profile = {
        "customer_id": "C1",
        "profile": {"evidence": [{"text": "x a@b.io", "source": "review 2025-01-01, 5/5"}], "drivers": []},
    }
    out = redact_profile(profile)
    assert out["profile"]["evidence"][0]["text"] == f"x {EMAIL_MASK}"
    assert profile["profile"]["evidence"][0]["text"] == "x a@b.io"  # input untouched
    assert redact_evidence([{"text": "+1 415 555 0100", "source": "s"}])[0] == {"text": PHONE_MASK, "source": "s"}


# Separators other than the ASCII space: no-break (U+00A0), narrow no-break (U+202F) and thin (U+2009) spaces, as word
# processors and French or German typing put them between digit groups; zero-width characters between digits.
_NBSP, _NNBSP, _THIN = "\u00a0", "\u202f", "\u2009"
_ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]


# dashes typed or autocorrected between the groups: en dash, " - ", " \u2013 ", the minus sign, a slash
_DASH_SEPS = ["\u2013", " - ", " \u2013 ", "\u2212", "/", "\u2011", " \u2014 "]


@pytest.mark.parametrize("sep", [_NBSP, _NNBSP, _THIN, ".", *_ZERO_WIDTH, f"{_NBSP}\u200b", " \u2060", *_DASH_SEPS])
@pytest.mark.parametrize(
    "groups",
    [
        ["4111", "1111", "1111", "1111"],  # Visa test number, 4-4-4-4
        ["5555", "5555", "5555", "4444"],  # Mastercard test number
        ["3782", "822463", "10005"],  # Amex, 4-6-5
        ["6011", "0009", "9013", "9424"],  # Discover
    ],
)
def test_cards_grouped_with_unusual_separators_are_masked(sep, groups):
    card = sep.join(groups)
    assert redact(f"Refund to my card {card} please") == f"Refund to my card {CARD_MASK} please"
    assert redact(f"card: {card}.") == f"card: {CARD_MASK}."
    assert redact(f"qty 2 {card}") == f"qty 2 {CARD_MASK}"  # inside a longer run, as with plain spaces


def test_zero_width_characters_anywhere_between_card_digits_are_seen_through():
    digits = "4111111111111111"
    for zw in _ZERO_WIDTH:
        assert redact(zw.join(digits)) == CARD_MASK  # between every digit
        assert redact(f"x {digits[:5]}{zw}{digits[5:9]}{zw * 2}{digits[9:]} y") == f"x {CARD_MASK} y"
    assert redact("4111\u200b1111\u200b1111\u200b1111") == CARD_MASK


@pytest.mark.parametrize("sep", [_NBSP, _NNBSP, _THIN, ".", "\u200b", *_DASH_SEPS])
def test_cards_with_unusual_separators_still_need_luhn_and_card_sized_groups(sep):
    for text in (
        sep.join(["4111", "1111", "1111", "1112"]),  # fails Luhn: an order reference
        sep.join(["1234", "5678", "9012", "3456"]),
        sep.join(["10", "20", "30", "40", "50", "60", "70", "80", "90"]),  # a list of numbers
    ):
        assert CARD_MASK not in redact(f"ref {text} arrived"), text


@pytest.mark.parametrize(
    "phone",
    [
        "06\u00a012\u00a034\u00a056\u00a078",  # French mobile with no-break spaces
        "06\u202f12\u202f34\u202f56\u202f78",
        "06\u200912\u200934\u200956\u200978",
        "+33\u00a06\u00a012\u00a034\u00a056\u00a078",
        "+44\u00a020\u00a07946\u00a00958",
        "0171\u00a01234567",
        "(030)\u00a01234567",
        "06\u200b12\u200b34\u200b56\u200b78",  # zero-width spaces between the groups
        "0\u200d6\u200d1\u200d2\u200d3\u200d4\u200d5\u200d6\u200d7\u200d8",
        "06\u00a0\u206012\u00a034\u00a056\u00a078",
        "415\u2013555\u20130132",  # en dashes, as a word processor writes them
        "415 - 555 - 0132",
        "415 \u2013 555 \u2013 0132",
        "+1\u2212415\u2212555\u22120132",
    ],
)
def test_phones_with_unusual_separators_are_masked(phone):
    assert redact(f"Call me on {phone} please") == f"Call me on {PHONE_MASK} please"
    assert redact(phone) == PHONE_MASK


def test_internationalised_email_addresses_are_masked():
    for text in ("mail me at josé.garcia@example.com", "write to müller@firma.de!", "jo@münchen.de", "иван@почта.рф"):
        assert redact(text).count("[email]") == 1 and "@" not in redact(text), text
    assert redact("café@ noon, 12 Müller-Str.") == "café@ noon, 12 Müller-Str."  # no address, nothing masked


@pytest.mark.parametrize("at", ["\uff20", "\ufe6b"])  # full-width and small commercial at
def test_emails_with_other_at_signs_are_masked(at):
    assert redact(f"write to jane.doe{at}example.com today") == f"write to {EMAIL_MASK} today"
    assert redact(f"JOHN_SMITH{at}Mail.Example.co.uk") == EMAIL_MASK
    assert redact(f"a{at}b.io, c.d@e-f.de.") == f"{EMAIL_MASK}, {EMAIL_MASK}."
    assert redact(f"meet {at} 5pm, 50{at}3 each") == f"meet {at} 5pm, 50{at}3 each"  # an at sign alone is no address


@pytest.mark.parametrize(
    "text",
    [
        "£1,299.00 was too much",
        "paid 1\u00a0299,00 € and 12\u202f345,50 €",
        "1\u202f234\u202f567,89 € in total",  # thousands grouped by narrow no-break spaces, with decimals
        "1 234 567,89 € in total",
        "delivered 2024.05.01, returned 01.05.2024",
        "firmware 2.1.0, app 1.4.2, build 10.3",
        "order O00000123, ref 1234567\u200b890",  # a bare 10-digit reference, split by a zero-width space
        "rated 4.5 stars, 5\u00a0stars, 4/5",
        "size 10\u00a0x\u00a020\u00a0x\u00a030\u00a0cm, 3\u00a0pack, 100\u202fml",
        "Tuesday\u00a0at\u00a010:30, 2\u200bitems",
        "Merci\u202f! Très bien\u00a0; livré le 12\u00a0mai.",
        "zero\u200bwidth\u200bjoined\u200bwords and a \ufeffBOM",
    ],
)
def test_ordinary_text_with_unusual_spaces_stays_as_written(text):
    assert redact(text) == text


def test_the_text_around_a_mask_keeps_its_characters():
    card, phone = "4111\u00a01111\u00a01111\u00a01111", "06\u00a012\u00a034\u00a056\u00a078"
    text = f"Merci\u202f! Carte {card}, tél.\u00a0{phone}\u00a0; a\uff20b.io"
    assert redact(text) == f"Merci\u202f! Carte {CARD_MASK}, tél.\u00a0{PHONE_MASK}\u00a0; {EMAIL_MASK}"
    assert redact(redact(text)) == redact(text)  # still idempotent


def test_long_runs_of_invisible_characters_and_spaces_are_quick():
    import time

    texts = [
        ("1" + "\u200b" * 4) * 40 + "x",
        "1" + "\u200b" * 20_000 + "1",
        ("1\u200b\u00a0\u2060" * 5_000) + "x",
        "4.1" * 5_000,
        "a\uff20" * 5_000 + "b.com",
    ]
    start = time.perf_counter()
    for text in texts:
        redact(text)
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    "text",
    [
        "from 2019 \u2013 2024",
        "the 1998-2005 model",
        "sizes 38 - 40 - 42",
        "pages 10\u201320",
        "on 2025\u201311\u201302",
    ],
)
def test_ranges_and_dates_written_with_dashes_stay(text):
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "my card 4111\u00ad1111\u00ad1111\u00ad1111",  # soft hyphens between the groups
        "my card 4111\u20631111\u20631111\u20631111",  # invisible separators
        "my card 4111\u200e1111\u200e1111\u200e1111",  # left-to-right marks
        "my card \u0664\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661\u0661",
        "write to john.doe\u200b@example.com",
        "write to jo\u00adhn@exa\u00admple.com",
        "call +44\u00ad20\u00ad7946\u00ad0958",
    ],
)
def test_contact_data_hidden_by_invisible_characters_or_other_digits_is_masked(text):
    """Each read as a plain card, address or phone number on screen but had been stored unmasked (hostile probe, stop
    30, F2)."""
    out = redact(text)
    assert any(mask in out for mask in ("[card]", "[email]", "[phone]")), out
    assert not any(c.isdigit() for c in out.split()[-1]) and "@" not in out


def test_a_text_without_contact_data_keeps_its_invisible_characters():
    assert redact("soft\u00adhyphen and order \u0661\u0662\u0663") == "soft\u00adhyphen and order \u0661\u0662\u0663"
