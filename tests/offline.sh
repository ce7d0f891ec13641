#!/usr/bin/env bash
# Run a command with no network but loopback: the offline guarantee (`make test` runs the e2e suite this way).
# In a new network namespace holding only `lo` where the machine allows one (nothing beyond loopback exists there,
# for any process); else with a socket audit hook in every Python the command starts (tests/offline/sitecustomize.py).
set -euo pipefail
export THREADLOOM_TEST_OFFLINE=1
if unshare -rn sh -c 'ip link set lo up' 2>/dev/null; then
    export THREADLOOM_TEST_OFFLINE=namespace
    exec unshare -rn sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
export THREADLOOM_TEST_OFFLINE=audit-hook
export PYTHONPATH="$(cd "$(dirname "$0")" && pwd)/offline${PYTHONPATH:+:$PYTHONPATH}"
exec "$@"
