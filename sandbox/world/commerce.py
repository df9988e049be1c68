"""The company's commerce: customers with their cards, products, charges and refunds.

Deliberately a little messy, because agents must face what real data looks like:
- one customer was charged twice for the same order (`facts["double_charge"]`);
- two customers share a full name (`facts["namesake"]`);
- one charge is already fully refunded and some failed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

from faker import Faker

from sandbox.clock import stable_id, stable_token

HISTORY_START = datetime(2025, 7, 1, tzinfo=UTC)
HISTORY_END = datetime(2026, 1, 14, 18, 0, tzinfo=UTC)
N_CUSTOMERS = 40
N_PRODUCTS = 6
CARD_BRANDS = ("visa", "mastercard", "amex")


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    state: str
    postal_code: str
    country: str = "US"


@dataclass(frozen=True)
class Card:
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    # private: the full fingerprint must never leave the sandbox
    fingerprint: str


@dataclass(frozen=True)
class Customer:
    index: int
    id: str
    name: str
    email: str
    phone: str
    address: Address
    card: Card
    created: int


@dataclass(frozen=True)
class Product:
    index: int
    id: str
    name: str
    description: str
    unit_amount: int  # cents
    created: int


@dataclass(frozen=True)
class Charge:
    index: int
    id: str
    payment_intent_id: str
    customer_id: str
    product_id: str
    order_id: str
    amount: int  # cents
    currency: str
    status: str  # succeeded | failed
    refunded_amount: int
    created: int
    description: str


@dataclass(frozen=True)
class Refund:
    id: str
    charge_id: str
    amount: int
    reason: str
    created: int


@dataclass(frozen=True)
class Commerce:
    company: str
    customers: tuple[Customer, ...]
    products: tuple[Product, ...]
    charges: tuple[Charge, ...]
    refunds: tuple[Refund, ...]
    facts: dict[str, dict[str, object]] = field(default_factory=dict)


def _ts(fake: Faker, start: datetime = HISTORY_START, end: datetime = HISTORY_END) -> int:
    return int(fake.date_time_between(start_date=start, end_date=end, tzinfo=UTC).timestamp())


def build_commerce(seed: int) -> Commerce:
    """Customers, products, charges and refunds of `seed` (the draw order is part of the world)."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rng = random.Random(seed)

    company = fake.company()
    customers = [_customer(fake, rng, seed, i) for i in range(N_CUSTOMERS)]
    # Oddity: a namesake. Two different people share a full name (not an email).
    twin = customers[rng.randrange(1, N_CUSTOMERS)]
    original = customers[0]
    customers[twin.index] = Customer(**{**twin.__dict__, "name": original.name})

    products = [
        Product(
            index=i,
            id=stable_id("prod", seed, i),
            name=f"{fake.word().capitalize()} {rng.choice(['Plan', 'Kit', 'Pass', 'Box', 'Pro'])}",
            description=fake.sentence(nb_words=8),
            unit_amount=rng.choice([900, 1900, 2900, 4900, 9900, 14900]),
            created=_ts(fake, HISTORY_START, datetime(2025, 7, 31, tzinfo=UTC)),
        )
        for i in range(N_PRODUCTS)
    ]

    charges: list[Charge] = []
    for customer in customers:
        for _ in range(rng.randint(1, 4)):
            charges.append(_charge(fake, rng, seed, len(charges), customer, rng.choice(products)))

    # Oddity: one customer was charged twice for the same order, 40 seconds apart.
    victim = customers[rng.randrange(2, N_CUSTOMERS)]
    first = next((c for c in charges if c.customer_id == victim.id and c.status == "succeeded"), None)
    if first is None:
        first = _charge(fake, rng, seed, len(charges), victim, products[0], status="succeeded")
        charges.append(first)
    duplicate = Charge(
        **{
            **first.__dict__,
            "index": len(charges),
            "id": stable_id("ch", seed, "charge", len(charges), length=24),
            "payment_intent_id": stable_id("pi", seed, "charge", len(charges), length=24),
            "created": first.created + 40,
        }
    )
    charges.append(duplicate)

    # Oddity: an earlier charge of someone else that is already fully refunded.
    refunded_at = next(c for c in charges if c.status == "succeeded" and c.customer_id != victim.id)
    charges[refunded_at.index] = Charge(**{**refunded_at.__dict__, "refunded_amount": refunded_at.amount})
    refunds = [
        Refund(
            id=stable_id("re", seed, "refund", 0, length=24),
            charge_id=refunded_at.id,
            amount=refunded_at.amount,
            reason="requested_by_customer",
            created=refunded_at.created + 86_400,
        )
    ]

    facts: dict[str, dict[str, object]] = {
        "double_charge": {
            "customer": victim.id,
            "customer_name": victim.name,
            "customer_email": victim.email,
            "order_id": first.order_id,
            "original_charge": first.id,
            "duplicate_charge": duplicate.id,
            "amount": first.amount,
            "currency": first.currency,
        },
        "namesake": {"name": original.name, "customers": [original.id, twin.id]},
        "refunded_charge": {"charge": refunded_at.id, "refund": refunds[0].id},
    }
    return Commerce(
        company=company,
        customers=tuple(customers),
        products=tuple(products),
        charges=tuple(charges),
        refunds=tuple(refunds),
        facts=facts,
    )


def _customer(fake: Faker, rng: random.Random, seed: int, i: int) -> Customer:
    first, last = fake.first_name(), fake.last_name()
    domain = rng.choice(["example.com", "example.net", "example.org", fake.domain_name()])
    return Customer(
        index=i,
        id=stable_id("cus", seed, i),
        name=f"{first} {last}",
        email=f"{first}.{last}{rng.randint(1, 99)}@{domain}".lower(),
        phone=f"+1{rng.randint(2012000000, 9899999999)}",
        address=Address(
            line1=fake.street_address(),
            city=fake.city(),
            state=fake.state_abbr(include_territories=False),
            postal_code=fake.postcode(),
        ),
        card=Card(
            brand=rng.choice(CARD_BRANDS),
            last4=f"{rng.randint(0, 9999):04d}",
            exp_month=rng.randint(1, 12),
            exp_year=rng.randint(2027, 2031),
            fingerprint=stable_token("fingerprint", seed, i, length=16),
        ),
        created=_ts(fake, HISTORY_START, datetime(2025, 9, 30, tzinfo=UTC)),
    )


def _charge(
    fake: Faker,
    rng: random.Random,
    seed: int,
    index: int,
    customer: Customer,
    product: Product,
    status: str | None = None,
) -> Charge:
    quantity = rng.choice([1, 1, 1, 2, 3])
    return Charge(
        index=index,
        id=stable_id("ch", seed, "charge", index, length=24),
        payment_intent_id=stable_id("pi", seed, "charge", index, length=24),
        customer_id=customer.id,
        product_id=product.id,
        order_id=f"ORD-{seed % 100:02d}{10000 + index}",
        amount=product.unit_amount * quantity,
        currency="usd",
        status=status or ("failed" if rng.random() < 0.06 else "succeeded"),
        refunded_amount=0,
        created=max(customer.created + 3600, _ts(fake, datetime(2025, 10, 1, tzinfo=UTC))),
        description=f"{quantity} x {product.name}",
    )
