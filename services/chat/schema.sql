-- The chat fake's tables. One row per Slack object; the change capture logs each row as JSON, so
-- column names are the ledger's field names. Every table has a single-column primary key `id`
-- (the row key in the ledger): rows that Slack keys by several values (a membership, a message,
-- a reaction) get an id that joins them ("C0AB.../1736930000.000100").

-- The workspace and the bot user the episode's token belongs to (one row).
CREATE TABLE team (
    id TEXT PRIMARY KEY,                -- T...
    name TEXT NOT NULL,
    domain TEXT NOT NULL,               -- <domain>.slack.com
    email_domain TEXT NOT NULL,
    bot_user TEXT NOT NULL,             -- U... of the bot
    bot_id TEXT NOT NULL,               -- B...
    app_id TEXT NOT NULL,               -- A...
    created INTEGER NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,                -- U...
    name TEXT NOT NULL,                 -- the legacy username
    real_name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    email TEXT,                         -- work address only
    title TEXT NOT NULL DEFAULT '',
    tz TEXT NOT NULL,
    tz_label TEXT NOT NULL,
    tz_offset INTEGER NOT NULL,
    color TEXT NOT NULL,
    avatar_hash TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    is_owner INTEGER NOT NULL DEFAULT 0,
    is_bot INTEGER NOT NULL DEFAULT 0,
    bot_id TEXT,                        -- set for bot users
    app_id TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL
);
CREATE INDEX users_email ON users (email);

CREATE TABLE channels (
    id TEXT PRIMARY KEY,                -- C...
    name TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL DEFAULT '',
    purpose TEXT NOT NULL DEFAULT '',
    is_private INTEGER NOT NULL DEFAULT 0,
    is_archived INTEGER NOT NULL DEFAULT 0,
    is_general INTEGER NOT NULL DEFAULT 0,
    creator TEXT NOT NULL,
    created INTEGER NOT NULL
);

CREATE TABLE members (
    id TEXT PRIMARY KEY,                -- <channel>/<user>
    channel TEXT NOT NULL,
    user TEXT NOT NULL,
    joined INTEGER NOT NULL
);
CREATE INDEX members_channel ON members (channel, user);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,                -- <channel>/<ts>
    channel TEXT NOT NULL,
    -- copied from the channel, so a row in the ledger says whether outsiders to the channel's
    -- membership could read it (`public_exposure`, for leak scoring)
    channel_private INTEGER NOT NULL DEFAULT 0,
    ts TEXT NOT NULL,                   -- Slack's "seconds.micro"
    ts_key INTEGER NOT NULL,            -- seconds * 1e6 + micro: exact ordering (a float is not)
    user TEXT,
    bot_id TEXT,                        -- set on the bot's own messages
    app_id TEXT,
    subtype TEXT,                       -- thread_broadcast | channel_join | tombstone | NULL
    text TEXT NOT NULL DEFAULT '',
    blocks TEXT,                        -- JSON array or NULL
    attachments TEXT,                   -- JSON array or NULL
    thread_ts TEXT,                     -- the root's ts, on the root itself too once it has replies
    edited_by TEXT,
    edited_ts TEXT
);
CREATE INDEX messages_channel ON messages (channel, ts_key);
CREATE INDEX messages_thread ON messages (channel, thread_ts);

CREATE TABLE reactions (
    id TEXT PRIMARY KEY,                -- <channel>/<ts>/<name>/<user>
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    name TEXT NOT NULL,
    user TEXT NOT NULL,
    n INTEGER NOT NULL                  -- order of addition: Slack lists reactions in that order
);
CREATE INDEX reactions_message ON reactions (channel, ts);

-- The app's Events API subscription, as its manifest sets it (apps.manifest.update / create):
-- one row, keyed by the app id. `verified` once the request URL echoed Slack's url_verification
-- challenge; only then are events sent.
CREATE TABLE event_subscriptions (
    id TEXT PRIMARY KEY,                -- A... (the app)
    request_url TEXT,
    bot_events TEXT NOT NULL DEFAULT '[]',  -- JSON list: message.channels, reaction_added, ...
    verified INTEGER NOT NULL DEFAULT 0,
    manifest TEXT NOT NULL,             -- the manifest as given (JSON)
    updated INTEGER NOT NULL
);

-- The webhook outbox, as in payments (sandbox/webhooks/ reads both): one row per event and
-- endpoint, written with the change that raised it, sent by the host-side deliverer.
CREATE TABLE _webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,           -- the inner event's type, or url_verification
    endpoint_id TEXT NOT NULL,          -- the app id
    url TEXT NOT NULL,
    scheme TEXT NOT NULL,               -- slack
    secret TEXT NOT NULL,               -- the signing secret
    body BLOB NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',  -- pending | delivered | failed | canceled
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    last_status INTEGER,
    created INTEGER NOT NULL
);
CREATE INDEX _webhook_outbox_pending ON _webhook_outbox (state, next_attempt_at);
