#!/usr/bin/env bash
# HTTP benchmark of the API (wrk, loopback, bounded): show, list of 100 gateways, ?limit=1 over 200 gateways,
# sequential create; on SQLite and on PostgreSQL (the installed server); plus an ASP.NET hello-world as the
# machine's HTTP limit.
# Usage: bench/api/run.sh [SECONDS]   (root, for the PostgreSQL server run as user postgres)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}
out=$(mktemp -d /tmp/l2gw-apibench.XXXX); chmod 755 "$out"
# PostgreSQL's programs: pg_config's bindir when it has initdb, else the highest installed version that has it.
pg_bindir() {
  local dir; dir=$(pg_config --bindir 2>/dev/null || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  done
  echo "bench/api/run.sh: no PostgreSQL server programs (initdb) found" >&2; return 1
}
# On any exit: stop what runs in the background and wait for it, stop PostgreSQL (fast: it does not wait for
# clients) and wait until it is down, then remove the folder. No step may end the cleanup early (no set -e here).
cleanup() {
  set +eu
  local pids; pids=$(jobs -p)
  if [ -n "$pids" ]; then kill $pids 2>/dev/null; wait $pids 2>/dev/null; fi
  if [ -f "$out/pg/data/postmaster.pid" ]; then
    runuser -u postgres -- "$pgbin/pg_ctl" -D "$out/pg/data" -m fast -w -t 60 stop >/dev/null \
      || echo "bench/api/run.sh: PostgreSQL in $out/pg did not stop" >&2
  fi
  rm -rf "$out"
}
trap cleanup EXIT
pgbin=$(pg_bindir)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
dotnet publish src/L2Gateway.Service -c Release -o "$out/service" -nologo -v quiet -clp:ErrorsOnly
dotnet publish bench/api/HelloWorld -c Release -o "$out/hello" -nologo -v quiet -clp:ErrorsOnly

wait_http() { for _ in $(seq 200); do curl -sf "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
# wrk summary -> "req/s p50 p99"
measure() { # connections url [script]
  local c=$1 url=$2 script=${3:-}
  wrk -t1 -c"$c" -d"${secs}s" --latency ${script:+-s "$script"} "$url" >"$out/wrk.txt"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "%s req/s | p50 %s | p99 %s", rps, p50, p99}' "$out/wrk.txt"
}

port=$(free_port)
ASPNETCORE_URLS="http://127.0.0.1:$port" "$out/hello/HelloWorld" >/dev/null 2>&1 &
wait_http "http://127.0.0.1:$port/"
measure 4 "http://127.0.0.1:$port/" >/dev/null   # warm-up
echo "| hello-world (ASP.NET, machine limit) | $(measure 4 "http://127.0.0.1:$port/") |"
kill %1; wait %1 2>/dev/null || true

run_server() { # label database-url
  local label=$1 db=$2 port; port=$(free_port)
  "$out/service/l2gw-service" server --bind "127.0.0.1:$port" --data-dir "$out/data-$label" --database "$db" \
    --quota-l2-gateway -1 >"$out/server-$label.log" 2>&1 &
  local pid=$!
  local base="http://127.0.0.1:$port/v2.0"
  wait_http "$base/extensions"
  local id=""
  for i in $(seq 200); do
    id=$(curl -sf -XPOST "$base/l2-gateways" -d "{\"l2_gateway\":{\"name\":\"gw$i\",\"devices\":[{\"device_name\":\"sw$i\",\"interfaces\":[{\"name\":\"eth0\",\"segmentation_id\":[100,200]},{\"name\":\"eth1\",\"segmentation_id\":[300]}]}]}}" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["l2_gateway"]["id"])')
    if [ "$i" = 100 ]; then
      measure 4 "$base/l2-gateways?limit=100" >/dev/null   # warm-up
      echo "| $label: list of 100 gateways (-c4) | $(measure 4 "$base/l2-gateways") |"
    fi
  done
  measure 4 "$base/l2-gateways/$id" >/dev/null   # warm-up
  echo "| $label: show (-c4) | $(measure 4 "$base/l2-gateways/$id") |"
  measure 4 "$base/l2-gateways?limit=1" >/dev/null   # warm-up
  echo "| $label: ?limit=1 over 200 gateways (-c4) | $(measure 4 "$base/l2-gateways?limit=1") |"
  echo "| $label: sequential create (-c1) | $(measure 1 "$base/l2-gateways" bench/api/create.lua) |"
  kill $pid; wait $pid 2>/dev/null || true
}

echo "| case | result |"
echo "|---|---|"
run_server sqlite "sqlite:///$out/db/l2gw.sqlite"

# A PostgreSQL of our own: initdb in the temp dir, a free port, stopped by the cleanup (pg_ctl -m fast stop).
pgport=$(free_port)
mkdir -p "$out/pg"; chown postgres "$out/pg"
runuser -u postgres -- "$pgbin/initdb" -D "$out/pg/data" -A trust -U postgres --locale=C >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$out/pg/data" -l "$out/pg/log" -w \
  -o "-p $pgport -k $out/pg -c listen_addresses=127.0.0.1" start >/dev/null
psql -h 127.0.0.1 -p "$pgport" -U postgres -qc 'CREATE DATABASE l2gw' >/dev/null
run_server postgresql "postgresql://postgres@127.0.0.1:$pgport/l2gw"
