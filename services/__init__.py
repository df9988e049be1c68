"""The fake services, registered by id.

A service is a package `services/<id>/` whose `SERVICE` is a `ServiceSpec`: the vendor hostnames it
answers for, its Flask app factory, and how it builds its tables from the world of a seed.
"""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.errors import ServiceError, did_you_mean

if TYPE_CHECKING:
    from flask import Flask

    from sandbox.world import World

# id -> module holding SERVICE. Order is the order `sandbox up` starts them in.
_MODULES: dict[str, str] = {
    "payments": "services.payments",
}


@dataclass(frozen=True)
class ServiceSpec:
    id: str
    hosts: tuple[str, ...]  # vendor hostnames the proxy routes to this fake
    create_app: Callable[[dict[str, Any]], Flask]
    build_template: Callable[[sqlite3.Connection, World], None]  # schema + rows for a seed
    key_prefix: str  # what a valid API key looks like, e.g. "sk_test_"
    env_vars: tuple[str, ...] = ()  # names under which `sandbox env` prints the API key
    # Bookkeeping tables (idempotency records, ...) whose rows are not side effects a task scores.
    internal_tables: tuple[str, ...] = ()


def service_ids() -> list[str]:
    return list(_MODULES)


def get_service(service_id: str) -> ServiceSpec:
    """The registered service `service_id`, or a ServiceError that suggests the closest id."""
    if service_id not in _MODULES:
        raise ServiceError(f"unknown service {service_id!r}", hint=did_you_mean(service_id, list(_MODULES)))
    return importlib.import_module(_MODULES[service_id]).SERVICE


def all_services() -> list[ServiceSpec]:
    return [get_service(s) for s in _MODULES]


def host_routes() -> dict[str, str]:
    """Vendor hostname -> service id, for the proxy's route addon."""
    return {host: spec.id for spec in all_services() for host in spec.hosts}
