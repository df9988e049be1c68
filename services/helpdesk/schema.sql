-- The helpdesk fake's tables. One row per Zendesk object, one column per field a verifier or a
-- reader of the ledger cares about; lists (tags, collaborator ids) are JSON text. The change
-- capture logs each row as JSON, so column names are the ledger's field names.
-- Every table has a single-column integer primary key `id`: it is the row key in the ledger.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    domain_names TEXT NOT NULL DEFAULT '[]',  -- JSON list
    notes TEXT,
    details TEXT,
    tags TEXT NOT NULL DEFAULT '[]',          -- JSON list
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    role TEXT NOT NULL,                       -- end-user | agent | admin
    organization_id INTEGER,
    phone TEXT,
    time_zone TEXT NOT NULL DEFAULT 'America/New_York',
    verified INTEGER NOT NULL DEFAULT 1,
    active INTEGER NOT NULL DEFAULT 1,
    external_id TEXT,
    notes TEXT,
    tags TEXT NOT NULL DEFAULT '[]',          -- JSON list
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_organization ON users (organization_id);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY,
    external_id TEXT,
    channel TEXT NOT NULL,                    -- via.channel: email | web | api
    type TEXT,                                -- problem | incident | question | task
    subject TEXT,
    description TEXT NOT NULL,                -- the first comment's body
    priority TEXT,                            -- low | normal | high | urgent
    status TEXT NOT NULL,                     -- new | open | pending | hold | solved | closed
    requester_id INTEGER NOT NULL,
    submitter_id INTEGER NOT NULL,
    assignee_id INTEGER,
    organization_id INTEGER,
    group_id INTEGER,
    collaborator_ids TEXT NOT NULL DEFAULT '[]',  -- JSON list
    tags TEXT NOT NULL DEFAULT '[]',          -- JSON list, sorted
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0        -- a deleted ticket answers 404 but keeps its id
);
CREATE INDEX tickets_requester ON tickets (requester_id);
CREATE INDEX tickets_organization ON tickets (organization_id);

CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    body TEXT NOT NULL,
    html_body TEXT,                           -- set when the writer sent html_body
    public INTEGER NOT NULL,                  -- 0: an internal note, agents only
    channel TEXT NOT NULL,
    audit_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX comments_ticket ON comments (ticket_id);

-- The account itself (subdomain, the sandbox agent's id): not a Zendesk object, so the leading
-- underscore keeps it out of the change capture.
CREATE TABLE _account (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
