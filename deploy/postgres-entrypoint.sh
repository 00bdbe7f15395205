#!/bin/sh
# Entrypoint of deploy/postgres.Dockerfile: what compose.yaml needs of the official image's entrypoint. On first start
# (empty PGDATA) make the cluster with POSTGRES_USER as its superuser, password POSTGRES_PASSWORD (scram-sha-256 over
# TCP from anywhere), and the database POSTGRES_DB; then run the server in the foreground.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?postgres-entrypoint: set POSTGRES_PASSWORD}"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  # The database, made over a socket of its own before anyone can connect: the health check (pg_isready on the
  # usual socket) passes only once the real server runs.
  init_socket=$(mktemp -d)
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories='$init_socket'" -w start
  if [ "$db" != "postgres" ]; then
    createdb -h "$init_socket" -U "$user" "$db"
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop
  rmdir "$init_socket"
fi
exec postgres -D "$PGDATA" -c listen_addresses="${POSTGRES_LISTEN:-*}" "$@"
