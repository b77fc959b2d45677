# Sourced by the scripts: create .venv with Python 3.11+ and install requirements.
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))." >&2
    exit 1
}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
PY=.venv/bin/python
# Reinstall only when requirements.txt changed since the last install.
if ! cmp -s requirements.txt .venv/.requirements.installed; then
    "$PY" -m pip install --quiet --disable-pip-version-check -r requirements.txt
    cp requirements.txt .venv/.requirements.installed
fi
