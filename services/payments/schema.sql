-- The payments fake's tables. One row per Stripe object, one column per field a verifier or a
-- reader of the ledger cares about; nested values (address, metadata, billing details) are JSON
-- text. The change capture logs each row as JSON, so column names are the ledger's field names.
-- Every table has a single-column primary key `id`: it is the row key in the ledger.

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    name TEXT,
    email TEXT,
    phone TEXT,
    description TEXT,
    address TEXT,                       -- JSON object or NULL
    shipping TEXT,                      -- JSON object or NULL
    balance INTEGER NOT NULL DEFAULT 0,
    currency TEXT,
    invoice_prefix TEXT NOT NULL,
    default_payment_method TEXT,
    preferred_locales TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    created INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0  -- Stripe keeps a deleted customer as a stub
);
CREATE INDEX customers_email ON customers (email);

CREATE TABLE payment_methods (
    id TEXT PRIMARY KEY,
    customer TEXT,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    exp_month INTEGER NOT NULL,
    exp_year INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    funding TEXT NOT NULL DEFAULT 'credit',
    decline_code TEXT,                  -- test cards that always decline (pm_card_chargeDeclined)
    billing_details TEXT NOT NULL,      -- JSON: address, email, name, phone
    metadata TEXT NOT NULL DEFAULT '{}',
    created INTEGER NOT NULL
);

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    default_price TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);

CREATE TABLE prices (
    id TEXT PRIMARY KEY,
    product TEXT NOT NULL,
    unit_amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    metadata TEXT NOT NULL DEFAULT '{}',
    created INTEGER NOT NULL
);

CREATE TABLE payment_intents (
    id TEXT PRIMARY KEY,
    amount INTEGER NOT NULL,
    amount_received INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL,
    customer TEXT,
    description TEXT,
    status TEXT NOT NULL,
    payment_method TEXT,
    latest_charge TEXT,
    last_payment_error TEXT,            -- JSON or NULL
    receipt_email TEXT,
    canceled_at INTEGER,
    cancellation_reason TEXT,
    client_secret TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    created INTEGER NOT NULL
);
CREATE INDEX payment_intents_customer ON payment_intents (customer);

CREATE TABLE charges (
    id TEXT PRIMARY KEY,
    amount INTEGER NOT NULL,
    amount_refunded INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0,
    currency TEXT NOT NULL,
    customer TEXT,
    payment_intent TEXT,
    payment_method TEXT,
    description TEXT,
    status TEXT NOT NULL,               -- succeeded | failed
    paid INTEGER NOT NULL,
    captured INTEGER NOT NULL,
    failure_code TEXT,
    failure_message TEXT,
    decline_code TEXT,
    card TEXT NOT NULL,                 -- JSON: brand, last4, exp_month, exp_year, fingerprint, funding
    billing_details TEXT NOT NULL,      -- JSON: address, email, name, phone
    receipt_email TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    created INTEGER NOT NULL
);
CREATE INDEX charges_customer ON charges (customer);
CREATE INDEX charges_payment_intent ON charges (payment_intent);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    charge TEXT NOT NULL,
    payment_intent TEXT,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    reason TEXT,
    status TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    created INTEGER NOT NULL
);
CREATE INDEX refunds_charge ON refunds (charge);

-- Idempotency records: not a Stripe object, so the leading underscore keeps them out of the
-- change capture (the ledger already holds every exchange). One row per Idempotency-Key.
CREATE TABLE _idempotency_keys (
    key TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    params_sha256 TEXT NOT NULL,
    status INTEGER NOT NULL,
    body BLOB NOT NULL,
    request_id TEXT NOT NULL,
    created INTEGER NOT NULL
);

-- Webhook endpoints an agent registered (Stripe's WebhookEndpoint). `secret` signs deliveries;
-- the API shows it only in the answer to the create, and the ledger's redactor hides it.
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    enabled_events TEXT NOT NULL,       -- JSON list of event types, or ["*"]
    description TEXT,
    status TEXT NOT NULL,               -- enabled | disabled
    secret TEXT NOT NULL,
    api_version TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    created INTEGER NOT NULL
);

-- Events (Stripe's Event objects), written in the transaction of the change that raised them.
-- Not an object the agent makes, so kept out of the change capture: the change itself is there.
CREATE TABLE _events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    body TEXT NOT NULL,                 -- the event as the API shows it (JSON)
    created INTEGER NOT NULL
);
CREATE INDEX _events_type ON _events (type);

-- The webhook outbox: one row per (event, endpoint), sent by the host-side deliverer
-- (sandbox/webhooks/). Durable with the event, so a killed sandbox resumes what was pending.
CREATE TABLE _webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    url TEXT NOT NULL,
    scheme TEXT NOT NULL,               -- how it is signed: stripe | slack
    secret TEXT NOT NULL,
    body BLOB NOT NULL,                 -- the payload as signed and sent
    state TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | failed | canceled
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,  -- wall seconds: a retry waits in real time
    last_status INTEGER,
    created INTEGER NOT NULL            -- episode clock of the event
);
CREATE INDEX _webhook_outbox_pending ON _webhook_outbox (state, next_attempt_at);
