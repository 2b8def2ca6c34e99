#!/usr/bin/env bash
# Print the path of a Python 3.10 (Rasa 3.6 runs on 3.8–3.10 only), or say what to install.
# Order: $HUIQI_PYTHON, python3.10 on PATH, python3 on PATH if it is 3.8–3.10, ~/.pyenv/versions/3.10*.
set -u

is_supported() {
  "$1" -c 'import sys; sys.exit(0 if (3, 8) <= sys.version_info[:2] <= (3, 10) else 1)' >/dev/null 2>&1
}

candidates=()
[ -n "${HUIQI_PYTHON:-}" ] && candidates+=("$HUIQI_PYTHON")
command -v python3.10 >/dev/null 2>&1 && candidates+=("$(command -v python3.10)")
command -v python3 >/dev/null 2>&1 && candidates+=("$(command -v python3)")
for dir in $(ls -d "$HOME"/.pyenv/versions/3.10* 2>/dev/null | sort -V -r); do
  candidates+=("$dir/bin/python")
done

for python in "${candidates[@]}"; do
  if is_supported "$python"; then
    # Resolve pyenv shims to the real interpreter so the venv does not depend on pyenv's state.
    "$python" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done

echo "No Python 3.8–3.10 found (Rasa 3.6 needs one). Install Python 3.10 (e.g. 'pyenv install 3.10' or 'apt-get install python3.10 python3.10-venv'), or set HUIQI_PYTHON=/path/to/python3.10." >&2
exit 1
