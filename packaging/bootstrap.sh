#!/usr/bin/env bash
# Create the project's virtual environment with a Python >= 3.12 and install Threadloom into it.
#   usage: packaging/bootstrap.sh VENV_DIR [EXTRAS]
# llama-cpp-python has no wheel on PyPI and builds from source (8-14 minutes on 2 cores, once: pip caches the
# wheel). GGML_NATIVE=OFF makes that wheel run on any AVX2 CPU, not only the one it was built on.
set -euo pipefail
venv=${1:?usage: bootstrap.sh VENV_DIR [EXTRAS]}
extras=${2:-}

is_supported() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; }

find_python() {
    local candidates=("${PYTHON:-}" python3.13 python3.12 python3)
    local root
    root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
    for dir in "$root"/versions/3.1[2-9]*/bin; do candidates+=("$dir/python3"); done
    for candidate in "${candidates[@]}"; do
        [ -n "$candidate" ] || continue
        if is_supported "$candidate"; then command -v "$candidate"; return 0; fi
    done
    return 1
}

if [ ! -x "$venv/bin/python" ] || ! is_supported "$venv/bin/python"; then
    python=$(find_python) || {
        echo "Threadloom needs Python 3.12 or newer and none was found." >&2
        echo "Install one (e.g. 'pyenv install 3.12' or your system's python3.12 package) or set PYTHON=/path/to/python3.12." >&2
        exit 1
    }
    echo "Creating $venv with $python ($("$python" --version))"
    rm -rf "$venv"
    "$python" -m venv "$venv"
fi

"$venv/bin/python" -m pip install --quiet --upgrade pip
spec="."
[ -n "$extras" ] && spec=".[$extras]"
echo "Installing Threadloom ($spec); the first time, llama-cpp-python compiles for several minutes"
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}" "$venv/bin/python" -m pip install --quiet --editable "$spec"
"$(dirname "$0")/translations.sh" "$venv"
