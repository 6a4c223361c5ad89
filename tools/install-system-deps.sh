#!/usr/bin/env bash
# Debian packages the test suite needs: Chromium (browser tests), PostgreSQL (database tests),
# WeasyPrint's libraries, fonts and poppler-utils (PDF notices) and xmlsec1 (SAML log-in).
# Installs them when missing and running as root; otherwise says what is missing.
# `install-system-deps.sh runtime` checks only what the running portal needs (PDF rendering, SAML).
set -euo pipefail

missing=()
# WeasyPrint (PDF notices): Pango, HarfBuzz subsetting (4x faster than the fontTools fallback),
# the DejaVu fonts the notice CSS names.
for pkg in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
# pysaml2 (SAML log-in with BundID) signs and checks XML signatures with the xmlsec1 binary.
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
if [ "${1:-test}" != "runtime" ]; then
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
  command -v runuser >/dev/null 2>&1 || missing+=(util-linux)
  dpkg -s poppler-utils >/dev/null 2>&1 || missing+=(poppler-utils)  # pdftotext, pdftoppm
fi

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
