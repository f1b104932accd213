#!/usr/bin/env bash
# `l2gw list` vs `openstack l2gw list`, whole process, against one running server, side by side (hyperfine).
# Usage: bench/cli/run.sh [RUNS]   (default 20 runs of ours, 10 of the Python client, 3 warm-ups each)
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-20}"
work="$(mktemp -d /tmp/l2gw-bench-cli.XXXXXX)"
server_pid=""
# On any exit: stop the server and wait until it is gone (it holds the SQLite files in $work), then remove $work.
cleanup() {
  set +e
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "publishing the service and the client (Release)..." >&2
dotnet publish "$here/src/L2Gateway.Service/L2Gateway.Service.csproj" -c Release -o "$work/bin" -nologo -v quiet -clp:ErrorsOnly >&2
dotnet publish "$here/src/L2Gateway.Cli/L2Gateway.Cli.csproj" -c Release -o "$work/bin" -nologo -v quiet -clp:ErrorsOnly >&2 || \
  dotnet publish "$here/src/L2Gateway.Cli/L2Gateway.Cli.csproj" -c Release -o "$work/bin" -nologo -v quiet -clp:ErrorsOnly -p:L2gwNoAot=true >&2

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
endpoint="http://127.0.0.1:$port"
"$work/bin/l2gw-service" server --bind "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -sf "$endpoint/v2.0/l2-gateways" >/dev/null && break; sleep 0.1; done

# The same data for both: five gateways, two devices each.
for i in 1 2 3 4 5; do
  env -u OS_CLOUD OS_ENDPOINT="$endpoint" "$work/bin/l2gw" create "gw$i" \
    --device "name=sw$i,interface_names=eth0|10$i#20$i;eth1|30$i" --device "name=swb$i,interface_names=p1|4$i" -f value -c ID >/dev/null
done

ours="$work/bin/l2gw --os-endpoint $endpoint list"
theirs="env -u OS_CLOUD -u OS_AUTH_URL -u OS_TOKEN /usr/bin/python3 /usr/bin/openstack --os-auth-type none --os-endpoint $endpoint l2gw list"
cmp <($ours) <($theirs) && echo "outputs identical" >&2
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/ours.json" "$ours" >&2
hyperfine -N --warmup 3 --runs "$(( runs / 2 > 5 ? runs / 2 : 5 ))" --export-json "$work/theirs.json" "$theirs" >&2
python3 - "$work/ours.json" "$work/theirs.json" <<'PY'
import json, sys
ours = json.load(open(sys.argv[1]))["results"][0]
theirs = json.load(open(sys.argv[2]))["results"][0]
print(f"l2gw list:           median {ours['median']*1000:8.1f} ms  (min {ours['min']*1000:.1f}, max {ours['max']*1000:.1f}, {len(ours['times'])} runs)")
print(f"openstack l2gw list: median {theirs['median']*1000:8.1f} ms  (min {theirs['min']*1000:.1f}, max {theirs['max']*1000:.1f}, {len(theirs['times'])} runs)")
print(f"ratio: ours takes {ours['median']/theirs['median']*100:.1f}% of the Python client's wall time ({theirs['median']/ours['median']:.0f}x faster)")
PY
