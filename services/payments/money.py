"""Amounts and currencies, checked and written the way Stripe's messages show them."""

from __future__ import annotations

from typing import Any

from services.payments.errors import StripeError
from services.payments.forms import MISSING, Params

# A subset of Stripe's currencies; zero-decimal ones count whole units (¥500 is amount=500).
CURRENCIES = ("usd", "eur", "gbp", "cad", "aud", "chf", "dkk", "nok", "sek", "nzd", "jpy", "krw")
ZERO_DECIMAL = frozenset({"jpy", "krw"})
SYMBOLS = {"usd": "$", "cad": "$", "aud": "$", "nzd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "krw": "₩"}
MINIMUM = 50  # in the smallest unit: $0.50, as Stripe's US accounts have it
MAXIMUM = 99_999_999


def format_amount(amount: int, currency: str) -> str:
    """`$25.00`, `€3.50`, `¥500`, `12.00 chf`."""
    number = f"{amount:,}" if currency in ZERO_DECIMAL else f"{amount / 100:,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def currency(params: Params, *, required: bool = True) -> Any:
    """The lower-cased currency, or MISSING when it is optional and absent."""
    value = params.string("currency", required=required, nullable=False, max_length=10)
    if value:
        value = value.lower()
        if value not in CURRENCIES:
            raise StripeError(
                f"Invalid currency: {value}. Stripe currently supports these currencies: {', '.join(CURRENCIES)}",
                param="currency",
            )
    return value


def amount(params: Params, currency_code: str, *, required: bool = True) -> Any:
    """The amount in the currency's smallest unit, or MISSING when optional and absent."""
    value = params.integer("amount", required=required, nullable=False)
    if value is MISSING:
        return value
    if value < MINIMUM:
        raise StripeError(
            f"Amount must be at least {format_amount(MINIMUM, currency_code)} {currency_code}",
            code="amount_too_small",
            param="amount",
        )
    if value > MAXIMUM:
        raise StripeError(
            f"Amount must be no more than {format_amount(MAXIMUM, currency_code)}",
            code="amount_too_large",
            param="amount",
        )
    return value
