#!/usr/bin/env bash
# Every test of Spool on a fresh machine, with nothing typed before it: installs what the tests need, then runs the
# Swift suites and the boto3 suite against real servers. Extra arguments go to pytest (`bash Tests/run.sh -k fifo`).
#
#   - Debian packages: SQLite's headers (the build), curl (the `provided` bootstrap scripts the tests deploy),
#     Chromium (the dashboard's browser tests), PostgreSQL 15 (the PostgreSQL backend's tests), Node.js (the nodejs*
#     functions' tests, unless a `node` is on PATH already); apt-get runs only for what is missing, as root or through sudo.
#   - Unless SPOOL_TEST_DATABASE_URL names one, a throwaway PostgreSQL cluster: initdb into a temporary directory
#     (as the `postgres` user when run as root: PostgreSQL refuses root), started on a free loopback port, stopped
#     and removed when the tests end, however they end.
#   - Python packages (Tests/compat/requirements.txt: pytest, boto3, awslambdaric, aws-lambda-powertools,
#     websocket-client) in a virtual environment, ./.venv, whose bin/ leads PATH while the tests run, so that the
#     servers they start run Python functions under its python3 and awslambdaric.
set -euo pipefail
cd "$(dirname "$0")/.."

# Toolchains where this machine kind installs them, in case the caller's PATH lacks them.
for dir in /opt/swift/usr/bin /root/.pyenv/shims; do
  if [ -d "$dir" ] && [[ ":$PATH:" != *":$dir:"* ]]; then PATH="$dir:$PATH"; fi
done
export PATH

missing=()
for package in libsqlite3-dev curl chromium postgresql; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
# Debian's own python3 makes virtual environments only with python3-venv.
python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then apt=(); elif command -v sudo >/dev/null; then apt=(sudo); else
    echo "Tests/run.sh: install ${missing[*]} (apt-get install -y ${missing[*]}) and run again" >&2; exit 1
  fi
  "${apt[@]}" apt-get update
  "${apt[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

if [ ! -x .venv/bin/python3 ]; then python3 -m venv .venv; fi
.venv/bin/python3 -m pip install --quiet --disable-pip-version-check -r Tests/compat/requirements.txt
PATH="$PWD/.venv/bin:$PATH"
export PATH

if [ -z "${SPOOL_TEST_DATABASE_URL:-}" ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pg_dir=$(mktemp -d /tmp/spool-test-postgres.XXXXXX)
  pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_pg=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$pg_dir"; as_pg=(runuser -u postgres --); fi
  "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U spool --auth=trust >/dev/null
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-h 127.0.0.1 -p $pg_port -k $pg_dir -c max_connections=300 -c fsync=on" start >/dev/null
  trap '"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$pg_dir"' EXIT
  export SPOOL_TEST_DATABASE_URL="postgres://spool@127.0.0.1:$pg_port/postgres?sslmode=disable"
fi

swift build --build-tests
swift test --skip-build
python3 -m pytest -q Tests/compat "$@"
