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
