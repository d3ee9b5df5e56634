#!/usr/bin/env bash
# System packages the local stack needs (Debian names). Installs what is missing
# when it can (root + apt-get); otherwise says exactly what to install.
set -euo pipefail

missing=()
command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
# Voice: espeak-ng speaks the styles where pitch matters; sox makes the test set's noise.
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v sox >/dev/null 2>&1 || missing+=(sox)
python_base="${PYTHON_BASE:-/usr/bin/python3.11}"
"$python_base" -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=(python3.11-venv)

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing system packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; }
else
    echo "error: missing system packages: ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
