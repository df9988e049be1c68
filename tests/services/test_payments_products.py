"""Products and prices: the world's catalogue, read-only."""

from __future__ import annotations

import pytest
import stripe

from sandbox.world import world
from tests.services.conftest import SEED

W = world(SEED)


def test_products_and_prices(client):
    products = client.v1.products.list({"limit": 100})
    assert {p.id for p in products.data} == {p.id for p in W.products}
    made = W.products[2]
    product = client.v1.products.retrieve(made.id, {"expand": ["default_price"]})
    assert (product.object, product.name, product.description, product.active) == (
        "product",
        made.name,
        made.description,
        True,
    )
    assert product.default_price.unit_amount == made.unit_amount
    assert product.default_price.product == made.id
    price = client.v1.prices.retrieve(product.default_price.id)
    assert (price.object, price.currency, price.type) == ("price", "usd", "one_time")
    assert [p.id for p in client.v1.prices.list({"product": made.id}).data] == [price.id]
    picked = client.v1.products.list({"ids": [W.products[0].id, W.products[1].id]})
    assert {p.id for p in picked.data} == {W.products[0].id, W.products[1].id}
    assert client.v1.products.list({"active": False}).data == []
    assert client.v1.prices.list({"type": "recurring"}).data == []


def test_unknown_product(client):
    with pytest.raises(stripe.InvalidRequestError) as err:
        client.v1.products.retrieve("prod_nope")
    assert err.value.http_status == 404 and err.value.user_message == "No such product: 'prod_nope'"
