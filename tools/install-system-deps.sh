#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium (browser tests) and PostgreSQL (database tests).
# Installs them when missing and running as root; otherwise says what is missing.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v runuser >/dev/null 2>&1 || missing+=(util-linux)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing Debian packages: ${missing[*]} — install them (sudo apt-get install ${missing[*]})," >&2
  echo "or point OPENKASSE_TEST_PG_URL at a PostgreSQL server." >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
