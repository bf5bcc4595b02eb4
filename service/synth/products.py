"""The fixed product catalogue (300 products in 10 categories) that orders, reviews and events draw from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import STR, offsets

# category -> (typical unit price in EUR, popularity, nouns)
_CATEGORIES: dict[str, tuple[float, float, list[str]]] = {
    "electronics": (
        55.0,
        0.14,
        [
            "wireless earbuds",
            "bluetooth speaker",
            "phone charger",
            "usb-c cable",
            "smartwatch",
            "laptop stand",
            "webcam",
            "power bank",
            "noise cancelling headphones",
            "mechanical keyboard",
        ],
    ),
    "home_kitchen": (
        32.0,
        0.13,
        [
            "chef's knife",
            "frying pan",
            "coffee grinder",
            "french press",
            "bath towel set",
            "scented candle",
            "cutting board",
            "blender",
            "storage jars",
            "bed sheets",
        ],
    ),
    "fashion": (
        38.0,
        0.14,
        [
            "linen shirt",
            "running jacket",
            "leather belt",
            "wool scarf",
            "denim jeans",
            "sneakers",
            "rain coat",
            "summer dress",
            "beanie hat",
            "ankle boots",
        ],
    ),
    "beauty": (
        17.0,
        0.10,
        [
            "face serum",
            "hand cream",
            "shampoo",
            "lip balm",
            "sunscreen",
            "perfume",
            "hair dryer",
            "makeup brush set",
            "night cream",
            "body lotion",
        ],
    ),
    "sports_outdoors": (
        36.0,
        0.09,
        [
            "yoga mat",
            "water bottle",
            "hiking backpack",
            "tent",
            "resistance bands",
            "cycling gloves",
            "dumbbells",
            "camping stove",
            "running socks",
            "trekking poles",
        ],
    ),
    "toys_games": (
        24.0,
        0.08,
        [
            "board game",
            "jigsaw puzzle",
            "building blocks",
            "plush bear",
            "remote control car",
            "card game",
            "kids art set",
            "wooden train set",
            "science kit",
            "dollhouse",
        ],
    ),
    "books": (
        14.0,
        0.08,
        [
            "cookbook",
            "crime novel",
            "travel guide",
            "picture book",
            "fantasy novel",
            "history book",
            "self-help book",
            "journal",
            "poetry collection",
            "comic book",
        ],
    ),
    "office_supplies": (
        12.0,
        0.08,
        [
            "ballpoint pens",
            "printer paper",
            "sticky notes",
            "desk organizer",
            "stapler",
            "whiteboard markers",
            "file folders",
            "desk lamp",
            "label maker",
            "ergonomic mouse",
        ],
    ),
    "grocery": (
        14.0,
        0.09,
        [
            "coffee beans",
            "green tea",
            "olive oil",
            "dark chocolate",
            "pasta",
            "granola",
            "honey",
            "spice set",
            "sparkling water",
            "protein bars",
        ],
    ),
    "pet_supplies": (
        19.0,
        0.07,
        [
            "dog food",
            "cat litter",
            "dog leash",
            "cat tree",
            "pet bed",
            "chew toys",
            "fish food",
            "bird seed",
            "grooming brush",
            "pet shampoo",
        ],
    ),
}
CAT_NAMES = list(_CATEGORIES)
CAT_PRICE = np.array([v[0] for v in _CATEGORIES.values()])
CAT_POP = np.array([v[1] for v in _CATEGORIES.values()])
CAT_POP = CAT_POP / CAT_POP.sum()
# business buyers' category mix after the step-up: office, grocery, electronics, home
BUS_CAT_P = np.array([0.18, 0.12, 0.03, 0.04, 0.03, 0.02, 0.02, 0.36, 0.18, 0.02])
BUS_CAT_P = BUS_CAT_P / BUS_CAT_P.sum()
ALL_NOUNS = [noun for _, _, nouns in _CATEGORIES.values() for noun in nouns]

_BRANDS = [
    "Nordvik",
    "Aurora",
    "Kestrel",
    "Lumen",
    "Mavi",
    "Orla",
    "Pinecrest",
    "Quill & Co",
    "Ridgeway",
    "Solano",
    "Tamsin",
    "Umber",
    "Vela",
    "Wren",
    "Yarrow",
    "Zephyr",
    "Alder",
    "Brio",
    "Cove",
    "Dune",
]
_ADJS = ["Classic", "Compact", "Everyday", "Deluxe", "Eco", "Essential", "Lightweight", "Smart", "Original", "Soft"]
# product kinds and how many of each per category (catalogue rows are grouped cat -> kind)
_KINDS = ("regular", "premium", "bulk", "gift")
K_REG, K_PREM, K_BULK, K_GIFT = range(4)
_KIND_CNT = np.array([20, 4, 3, 3])
_KIND_OFF = offsets(_KIND_CNT)
_PER_CAT = int(_KIND_CNT.sum())
_KIND_PRICE = np.array([1.0, 2.6, 9.0, 1.6])


def _cap(s: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in s.split())


def _title(rng: np.random.Generator, k: int, j: int, noun: str, brand: str) -> str:
    """Title of the j-th product of kind k (the regular kind draws an adjective, bulk a pack size)."""
    if k == K_REG:
        return f"{brand} {_ADJS[rng.integers(len(_ADJS))]} {_cap(noun)}"
    if k == K_PREM:
        return f"{brand} {['Premium', 'Pro', 'Signature', 'Luxe'][j % 4]} {_cap(noun)}"
    if k == K_BULK:
        n = [12, 24, 50, 100, 500][rng.integers(5)]
        return [
            f"{_cap(noun)} - Bulk Pack of {n}",
            f"Wholesale Case of {n}: {_cap(noun)}",
            f"{_cap(noun)} Office Value Pack ({n} pcs)",
        ][j % 3]
    return [f"{_cap(noun)} Gift Set", f"Luxury {_cap(noun)} Gift Box", f"{brand} {_cap(noun)} Holiday Gift Edition"][
        j % 3
    ]


def _build_catalogue() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20250101)  # fixed: the catalogue does not depend on the seed
    titles, nouns, cats, kinds, prices = [], [], [], [], []
    for ci, (price, _, cat_nouns) in enumerate(_CATEGORIES.values()):
        for k, cnt in enumerate(_KIND_CNT):
            for j in range(cnt):
                noun = cat_nouns[j % len(cat_nouns)] if k == K_REG else cat_nouns[rng.integers(len(cat_nouns))]
                brand = _BRANDS[rng.integers(len(_BRANDS))]
                titles.append(_title(rng, k, j, noun, brand))
                nouns.append(noun)
                cats.append(ci)
                kinds.append(k)
                prices.append(round(price * _KIND_PRICE[k] * float(rng.lognormal(0.0, 0.3)), 2))
    n = len(titles)
    return {
        "product_id": np.array([f"P{i:04d}" for i in range(n)], dtype=object),
        "title": np.array(titles, dtype=object),
        "noun": np.array(nouns, dtype=object),
        "category": np.array(cats),
        "kind": np.array(kinds),
        "price": np.array(prices),
    }


CAT = _build_catalogue()


def catalogue() -> pd.DataFrame:
    """The fixed product catalogue: product_id, title, noun, category, kind, price (EUR)."""
    return pd.DataFrame(
        {
            "product_id": pd.array(CAT["product_id"], dtype=STR),
            "title": pd.array(CAT["title"], dtype=STR),
            "noun": pd.array(CAT["noun"], dtype=STR),
            "category": pd.array(np.array(CAT_NAMES, dtype=object)[CAT["category"]], dtype=STR),
            "kind": pd.array(np.array(_KINDS, dtype=object)[CAT["kind"]], dtype=STR),
            "price": CAT["price"],
        }
    )


def product(rng: np.random.Generator, cat: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Catalogue row of a random product of the given category and kind."""
    cnt = _KIND_CNT[kind]
    return cat * _PER_CAT + _KIND_OFF[kind] + np.minimum((rng.random(len(cat)) * cnt).astype(np.int64), cnt - 1)


def category_queries() -> list[list[str]]:
    """Plain search queries per category ("best yoga mat", "nordvik tent", ...), sorted and deduplicated."""
    rng = np.random.default_rng(7)
    out = []
    for _, _, cat_nouns in _CATEGORIES.values():
        q = []
        for noun in cat_nouns:
            q += [
                noun,
                f"best {noun}",
                f"{noun} sale",
                f"{_BRANDS[rng.integers(len(_BRANDS))].lower()} {noun}",
                f"{_ADJS[rng.integers(len(_ADJS))].lower()} {noun}",
                f"{noun} reviews",
            ]
        out.append(sorted(set(q)))
    return out
