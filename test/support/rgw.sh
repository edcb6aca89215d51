#!/bin/bash
# A throwaway single-node Ceph for tests: one mon, one OSD keeping its data in memory (memstore),
# one radosgw (a real S3 server that pushes bucket notifications), all on 127.0.0.1, no cephx, no
# systemd, no mgr; each daemon forks and writes a pid file under DIR/run. Debian's packages
# (ceph-mon ceph-osd radosgw ceph-common, installed by scripts/setup-system.sh). After
# ../shared/reference/ceph-rgw/start-rgw.sh, which was checked on these machines.
#
#   rgw.sh start DIR   prints S3_ENDPOINT=… once S3 answers and the user exists (~14 s)
#   rgw.sh stop DIR    kills the pids in DIR/run (SIGTERM, then SIGKILL after 10 s), removes DIR
#
# Env: RGW_PORT, MON_V2_PORT, MON_V1_PORT (free ports the caller chose), S3_ACCESS_KEY, S3_SECRET_KEY;
# RGW_ALSO_ON: another address radosgw listens on besides 127.0.0.1 (the Docker bridge's, for
# container functions).
# The OSD binds in Ceph's own range (6800-7300): one cluster at a time on a machine.
set -euo pipefail

cmd=${1:?usage: rgw.sh start|stop DIR}
DIR=${2:?usage: rgw.sh start|stop DIR}

if [ "$cmd" = stop ]; then
  pids() { for pf in "$DIR"/run/*.pid; do [ -f "$pf" ] && cat "$pf"; done; }
  for pid in $(pids); do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in $(pids); do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for pid in $(pids); do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "${DIR:?}"
  exit 0
fi

mkdir -p "$DIR"/{log,mon,osd,run,rgw}
RGW_PORT=${RGW_PORT:?}
MON_V2_PORT=${MON_V2_PORT:?}
MON_V1_PORT=${MON_V1_PORT:?}
S3_ACCESS_KEY=${S3_ACCESS_KEY:?}
S3_SECRET_KEY=${S3_SECRET_KEY:?}
FSID=$(uuidgen)
export CEPH_CONF="$DIR/ceph.conf"
MON_ADDRS="[v2:127.0.0.1:${MON_V2_PORT},v1:127.0.0.1:${MON_V1_PORT}]"

cat > "$CEPH_CONF" <<CONF
[global]
fsid = $FSID
mon host = $MON_ADDRS
public addr = 127.0.0.1
cluster addr = 127.0.0.1
run dir = $DIR/run
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
osd crush chooseleaf type = 0
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
mon allow pool delete = true
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail crit = 0
mon data avail warn = 0
ms mon client mode = crc
keyring = /dev/null

[mon.a]
mon data = $DIR/mon
mon cluster log file = $DIR/log/mon-cluster.log

[osd.0]
osd data = $DIR/osd
osd objectstore = memstore
memstore device bytes = 1073741824
osd class load list = *
osd class default list = *

[client.rgw.r]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT${RGW_ALSO_ON:+ endpoint=$RGW_ALSO_ON:$RGW_PORT}
rgw thread pool size = 16
# The name containers call it by (--container-host-ports): radosgw takes a Host name it does not
# know as a bucket's (IP addresses, as the tests' own clients use, are left alone).
rgw dns name = host.hearth.internal
rgw data = $DIR/rgw
CONF

monmaptool --create --fsid "$FSID" --addv a "$MON_ADDRS" "$DIR/monmap" >/dev/null
ceph-mon -i a --mkfs --monmap "$DIR/monmap" --keyring /dev/null
touch "$DIR/mon/keyring"
ceph-mon -i a

OSD_ID=$(ceph osd create)
ceph osd crush add "osd.$OSD_ID" 1 root=default >/dev/null 2>&1
ceph-osd -i "$OSD_ID" --mkfs >/dev/null 2>&1
ceph-osd -i "$OSD_ID" >/dev/null 2>&1
for _ in $(seq 1 120); do ceph osd stat 2>/dev/null | grep -q '1 up' && break; sleep 0.5; done
ceph osd stat | grep -q '1 up'

radosgw -n client.rgw.r
ENDPOINT="http://127.0.0.1:$RGW_PORT"
for _ in $(seq 1 240); do curl -fsS -o /dev/null "$ENDPOINT" 2>/dev/null && break; sleep 0.5; done
curl -fsS -o /dev/null "$ENDPOINT"
radosgw-admin user create --uid tester --display-name Tester --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >/dev/null
echo "S3_ENDPOINT=$ENDPOINT"
