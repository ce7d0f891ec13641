#!/usr/bin/env bash
# Run a command with no network but loopback: the offline guarantee (`make test` runs the e2e suite this way).
# As root (CI), in a new network namespace holding only `lo` where the machine allows one: nothing beyond loopback
# exists there, for any process. Else with a socket audit hook in every Python the command starts
# (tests/offline/sitecustomize.py); not in a user namespace, whose fake root would pass permission checks the
# tests rely on.
set -euo pipefail
if [ "$(id -u)" = 0 ] && unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
    export THREADLOOM_TEST_OFFLINE=namespace
    exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
export THREADLOOM_TEST_OFFLINE=audit-hook
export PYTHONPATH="$(cd "$(dirname "$0")" && pwd)/offline${PYTHONPATH:+:$PYTHONPATH}"
exec "$@"
