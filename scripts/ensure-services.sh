#!/usr/bin/env bash
# Starts the machine's PostgreSQL and Redis when they are down (the test suite needs both),
# Debian's Chromium for the browser tests, ExifTool for the metadata tests, OpenLDAP's slapd
# for the LDAP sign-in tests and Node.js with the test OpenID Connect provider (tests/oidc)
# when missing.
set -u
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "ensure-services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "ensure-services: PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

if ! /usr/bin/redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "ensure-services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  /usr/bin/redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do /usr/bin/redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
/usr/bin/redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null || { echo "ensure-services: Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }

if ! command -v chromium >/dev/null 2>&1; then
  echo "ensure-services: installing Debian's chromium for the browser tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi
command -v chromium >/dev/null || { echo "ensure-services: chromium is missing and could not be installed" >&2; exit 1; }

if ! command -v exiftool >/dev/null 2>&1; then
  echo "ensure-services: installing Debian's ExifTool for the metadata tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q libimage-exiftool-perl >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q libimage-exiftool-perl >/dev/null; }
fi
command -v exiftool >/dev/null || { echo "ensure-services: exiftool is missing and could not be installed" >&2; exit 1; }
if [ ! -x /usr/sbin/slapd ] || ! command -v ldapsearch >/dev/null 2>&1; then
  # The LDAP sign-in tests start their own slapd (tests/ldap_server.py: own config, own
  # ports); the package's service is neither configured nor started for them.
  echo "ensure-services: installing Debian's OpenLDAP slapd for the LDAP sign-in tests"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q slapd ldap-utils >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q slapd ldap-utils >/dev/null; }
fi
[ -x /usr/sbin/slapd ] || { echo "ensure-services: slapd is missing and could not be installed" >&2; exit 1; }
# The OpenID Connect sign-in tests run a real provider (npm's oidc-provider, pinned in
# tests/oidc/package-lock.json) and the Azure Blob tests Azurite (tests/azurite, `make
# azurite`), both on Node.js; installed here, never at test time.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "ensure-services: installing Debian's Node.js and npm (oidc-provider, Azurite)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q nodejs npm >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q nodejs npm >/dev/null; }
fi
command -v npm >/dev/null || { echo "ensure-services: Node.js and npm are missing and could not be installed" >&2; exit 1; }
OIDC_DIR="$(dirname "$0")/../tests/oidc"
if ! cmp -s "$OIDC_DIR/package-lock.json" "$OIDC_DIR/node_modules/.pictorium-lock.json"; then
  echo "ensure-services: installing the test OpenID Connect provider (npm ci in tests/oidc)"
  (cd "$OIDC_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || { echo "ensure-services: npm ci in tests/oidc failed" >&2; exit 1; }
  cp "$OIDC_DIR/package-lock.json" "$OIDC_DIR/node_modules/.pictorium-lock.json"
fi
echo "ensure-services: PostgreSQL, Redis, Chromium, ExifTool, slapd, Node.js and npm are ready"
