#!/usr/bin/env bash
# Headless Chromium for the browser test, from Debian's packages (never a downloaded
# browser). Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "error: Chromium is missing and this user cannot install packages." >&2
        echo "Fix: run 'apt-get update && apt-get install -y chromium' as root." >&2
        exit 2
    fi
fi
echo "- installing Debian's chromium package (for the browser test)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
