#!/bin/bash
# Reboots the lab's emulated switch with an empty hardware_vtep database: stops its emulator and its OVSDB
# server, recreates the database, starts both again and re-registers the switch as a booting switch does.
# Usage: reboot-switch.sh LAB_DIR   (a lab made by shared/testbed/vtep-lab.sh up)
set -eu
D=$1
. "$D/state.env"
export OVS_RUNDIR=$D OVS_LOGDIR=$D OVS_DBDIR=$D OVS_SYSCONFDIR=$D
stop() { # by recorded PID, TERM then KILL
  local pid; pid=$(cat "$D/$1.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
stop ovs-vtep
stop ovsdb-server
rm -f "$D/vtep.db" "$D/.vtep.db.~lock~"
ovsdb-tool create "$D/vtep.db" /usr/share/openvswitch/vtep.ovsschema
ovsdb-server "$D/conf.db" "$D/vtep.db" --remote=punix:"$D/db.sock" --remote=ptcp:"$PORT":127.0.0.1 \
  --pidfile="$D/ovsdb-server.pid" --unixctl="$D/ovsdb-server.ctl" --log-file="$D/ovsdb-server.log" \
  -vconsole:off --detach --no-chdir
vtep-ctl --timeout=10 --db=unix:"$D/db.sock" add-ps br-tor -- set Physical_Switch br-tor tunnel_ips=10.77.0.1
ip netns exec "$PX-tor" /usr/bin/python3 /usr/share/openvswitch/scripts/ovs-vtep --log-file="$D/ovs-vtep.log" \
  --pidfile="$D/ovs-vtep.pid" --detach -vconsole:off br-tor
for _ in $(seq 50); do
  vtep-ctl --timeout=10 --db=unix:"$D/db.sock" list-ports br-tor 2>/dev/null | grep -qx p1 && exit 0
  sleep 0.1
done
echo "reboot-switch: the emulator did not publish p1" >&2
exit 1
