#!/bin/sh
# Every part of the image starts here. A sandbox home the container's user cannot write fails deep
# inside SQLite with a traceback; say which folder it is and how to fix it instead.
set -e
home="${SANDBOX_HOME:-/sandbox-home}"
mkdir -p "$home" 2>/dev/null || true
if [ ! -w "$home" ]; then
    echo "error: the sandbox home $home is not writable by uid $(id -u) (it is owned by uid $(stat -c %u "$home"))." >&2
    echo "hint: with docker compose it is the host folder \${SANDBOX_COMPOSE_HOME:-./.sandbox/compose}: create it" >&2
    echo "      yourself and run the parts as your user: mkdir -p .sandbox/compose &&" >&2
    echo "      SANDBOX_UID=\$(id -u) SANDBOX_GID=\$(id -g) docker compose up -d (as root: chown 10001:10001 it)" >&2
    exit 2
fi
exec "$@"
