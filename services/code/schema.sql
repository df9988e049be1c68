-- The code fake's tables: a GitHub organisation, its people, repositories, labels, issues and
-- issue comments. Lists of names (an issue's labels and assignees, a repository's topics) are
-- JSON text on the owning row, so one ledger entry shows an issue's whole triage state.
-- Every table has a single-column primary key: it is the row key in the ledger.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT,
    company TEXT,
    location TEXT,
    bio TEXT,
    member INTEGER NOT NULL DEFAULT 0,      -- of the organisation: assignable, author_association MEMBER
    role TEXT,                              -- admin | member, for members
    created_at INTEGER NOT NULL
);

CREATE TABLE orgs (
    id INTEGER PRIMARY KEY,
    login TEXT NOT NULL UNIQUE COLLATE NOCASE,
    name TEXT NOT NULL,
    description TEXT,
    blog TEXT,
    created_at INTEGER NOT NULL
);

CREATE TABLE repos (
    id INTEGER PRIMARY KEY,
    owner TEXT NOT NULL,                    -- the organisation's login
    name TEXT NOT NULL COLLATE NOCASE,
    description TEXT,
    private INTEGER NOT NULL DEFAULT 0,
    topics TEXT NOT NULL DEFAULT '[]',      -- JSON list
    has_issues INTEGER NOT NULL DEFAULT 1,
    default_branch TEXT NOT NULL DEFAULT 'main',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    pushed_at INTEGER NOT NULL,
    UNIQUE (owner, name)
);

CREATE TABLE labels (
    id INTEGER PRIMARY KEY,
    repo_id INTEGER NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    color TEXT NOT NULL,
    description TEXT,
    is_default INTEGER NOT NULL DEFAULT 0,
    UNIQUE (repo_id, name)
);

CREATE TABLE issues (
    id INTEGER PRIMARY KEY,
    repo_id INTEGER NOT NULL,
    number INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT,
    author TEXT NOT NULL,                   -- login
    state TEXT NOT NULL,                    -- open | closed
    state_reason TEXT,                      -- completed | not_planned | reopened | NULL
    labels TEXT NOT NULL DEFAULT '[]',      -- JSON list of label names, sorted
    assignees TEXT NOT NULL DEFAULT '[]',   -- JSON list of logins, in the order assigned
    locked INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    closed_at INTEGER,
    closed_by TEXT,                         -- login
    -- copied from the repository: scoring asks whether outsiders can read a row on its own
    repo_private INTEGER NOT NULL DEFAULT 0,
    UNIQUE (repo_id, number)
);

CREATE TABLE comments (
    id INTEGER PRIMARY KEY,
    issue_id INTEGER NOT NULL,
    repo_id INTEGER NOT NULL,
    author TEXT NOT NULL,                   -- login
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    repo_private INTEGER NOT NULL DEFAULT 0  -- copied from the repository, as on issues
);
CREATE INDEX comments_issue ON comments (issue_id);
