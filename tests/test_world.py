from datetime import UTC, datetime

from sandbox.world import HISTORY_END, world


def test_same_seed_same_world():
    a = world(11)
    world.cache_clear()
    assert world(11) == a


def test_different_seeds_differ():
    assert world(1).customers != world(2).customers


def test_double_charge_fact_describes_two_identical_charges_of_one_customer():
    w = world(7)
    fact = w.facts["double_charge"]
    by_id = {c.id: c for c in w.charges}
    original, duplicate = by_id[fact["original_charge"]], by_id[fact["duplicate_charge"]]
    assert original.customer_id == duplicate.customer_id == fact["customer"]
    assert original.order_id == duplicate.order_id == fact["order_id"]
    assert original.amount == duplicate.amount == fact["amount"]
    assert duplicate.created - original.created == 40
    assert w.customer(fact["customer"]).email == fact["customer_email"]


def test_namesake_is_two_people_with_one_name():
    w = world(7)
    a, b = (w.customer(c) for c in w.facts["namesake"]["customers"])
    assert a.id != b.id and a.name == b.name and a.email != b.email


def test_history_lies_in_fixed_bounds_not_relative_to_now():
    end = HISTORY_END.timestamp() + 3600 * 24 * 2
    for charge in world(3).charges:
        assert datetime(2025, 7, 1, tzinfo=UTC).timestamp() <= charge.created <= end


def test_ids_are_vendor_shaped_and_unique():
    w = world(5)
    ids = [c.id for c in w.customers] + [c.id for c in w.charges] + [p.id for p in w.products]
    assert len(ids) == len(set(ids))
    assert all(c.id.startswith("cus_") for c in w.customers)
    assert all(c.id.startswith("ch_") for c in w.charges)
