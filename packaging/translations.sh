#!/usr/bin/env bash
# Compile each translation, resources/translations/threadloom_<locale>.ts, to the .qm beside it that the window loads
# at start for the system's language (app/gui/resources.py). threadloom.ts itself is the untranslated source that
# pyside6-lupdate keeps current; translators copy it to threadloom_<locale>.ts. Run by bootstrap.sh and build.sh.
#   usage: packaging/translations.sh VENV_DIR [FOLDER]      (FOLDER: default resources/translations)
set -euo pipefail
venv=${1:?usage: translations.sh VENV_DIR [FOLDER]}
folder=${2:-$(dirname "$0")/../resources/translations}
shopt -s nullglob
for source in "$folder"/threadloom_*.ts; do
    "$venv/bin/pyside6-lrelease" -silent "$source" -qm "${source%.ts}.qm"
done
