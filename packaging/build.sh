#!/usr/bin/env bash
# Build the desktop bundle, dist/threadloom/ (one folder: the `threadloom` program and its _internal/), from the
# project's venv with PyInstaller; then `packaging/install-linux.sh` puts it in ~/.local with a launcher entry.
#   usage: packaging/build.sh [VENV_DIR]      (default .venv; made by packaging/bootstrap.sh if missing)
# The venv gets the `packaging` extra (PyInstaller) if it lacks it. No model weights go into the bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import app, PyInstaller' >/dev/null 2>&1; then
    packaging/bootstrap.sh "$venv" packaging
fi
"$venv/bin/python" packaging/render-icons.py --check  # an edited SVG must not ship with stale PNGs
packaging/translations.sh "$venv"  # an edited translation must not ship as its old .qm

start=$(date +%s)
"$venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/threadloom.spec
echo "Built dist/threadloom in $(( $(date +%s) - start )) s ($(du -sh dist/threadloom | cut -f1)); check it with:"
echo "  QT_QPA_PLATFORM=offscreen dist/threadloom/threadloom --self-test"
