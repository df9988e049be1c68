"""Cached templates follow the fakes' schemas: a template built before a fake gained a table is
rebuilt when its seed is next used, and episodes (and their forks) carry the new table."""

from __future__ import annotations

import sqlite3

from sandbox.episodes import templates
from sandbox.episodes.store import EpisodeStore
from sandbox.home import Home


def _tables(path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_a_template_from_an_older_service_schema_is_rebuilt(tmp_path):
    home = Home.resolve(tmp_path / "home")
    target = templates.ensure_templates(home, 3)
    assert (target / templates.services_mark()).exists()
    # As a template from before webhooks: no endpoint table, no outbox, no mark of today's schemas.
    conn = sqlite3.connect(target / "payments.db")
    conn.executescript("DROP TABLE webhook_endpoints; DROP TABLE _webhook_outbox;")
    conn.close()
    (target / templates.services_mark()).unlink()
    (target / "services-schema-000000000000").touch()

    templates.ensure_templates(home, 3)
    assert {"webhook_endpoints", "_webhook_outbox", "_events"} <= _tables(target / "payments.db")
    assert [p.name for p in target.glob("services-schema-*")] == [templates.services_mark()]
    assert not [p for p in target.iterdir() if p.name.startswith(".building")]
    store = EpisodeStore(home)
    try:
        episode = store.create(seed=3)
        assert "webhook_endpoints" in _tables(home.service_db(episode.id, "payments"))
        # The change capture covers the new table in the rebuilt template.
        assert "_sandbox_webhook_endpoints_insert" in {
            name for (name,) in sqlite3.connect(home.service_db(episode.id, "payments")).execute(
                "SELECT name FROM sqlite_master WHERE type='trigger'")}
    finally:
        store.close()
