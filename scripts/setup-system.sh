#!/usr/bin/env bash
# System packages Hearth's tests and benchmarks use, from Debian's packages, installed only when
# missing (idempotent). Needs root (or sudo) for apt-get; without it, says what to install.
#   wrk    HTTP load (bench)
#   nginx  the gateway test runs its own nginx (its own config, prefix and ports, as a child
#          process); the Debian package's own service is kept from starting on port 80.
#   redis-server  the distributed async queue's tests start their own redis-server (a temp dir,
#          a free port, as a child process); the package's own service is kept from starting.
#   nats-server  the NATS JetStream trigger's test starts its own nats-server (-js, a temp dir,
#          free ports, as a child process).
#   rabbitmq-server  the AMQP trigger's test starts its own broker (a temp dir, free ports, its own
#          Erlang node name, as a child process); the package's own service is kept from starting.
#   ceph-mon ceph-osd radosgw ceph-common  the object-storage event source's test starts a
#          throwaway single-node Ceph (one mon, one in-memory OSD, one radosgw: a real S3 server
#          that pushes bucket notifications) on loopback, as child daemons (test/support/rgw.sh).
#   prometheus  `promtool check rules` / `promtool test rules` on deploy/prometheus, and a real
#          Prometheus (its own config, temp dir and port, as a child process) that scrapes a live
#          Hearth and evaluates the rules; the package's own service is kept from starting.
#   chromium fonts-dejavu-core  the web console's browser test drives Debian's Chromium with
#          playwright-core (which downloads no browser of its own; test/support/browser.ts).
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

need=()
have wrk || need+=(wrk)
have nginx || need+=(nginx)
have redis-server || need+=(redis-server)
have nats-server || need+=(nats-server)
have rabbitmq-server || need+=(rabbitmq-server)
have radosgw || need+=(radosgw)
have ceph-mon || need+=(ceph-mon)
have ceph-osd || need+=(ceph-osd)
have ceph || need+=(ceph-common)
have uuidgen || need+=(uuid-runtime)
have promtool || need+=(prometheus)
have chromium || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)

if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "hearth setup: please install: ${need[*]} (apt-get install -y ${need[*]})" >&2; exit 1
  fi
else SUDO=; fi
echo "hearth setup: installing ${need[*]}" >&2

# Debian's nginx package starts its service (nginx on port 80, /etc/nginx) when installed. Hearth
# only needs the binary: while installing, a policy-rc.d that denies every service start (exit 101,
# see /usr/share/doc/init-system-helpers/README.policy-rc.d) keeps it from starting, unless the
# machine already has its own policy, which is then left alone.
policy=/usr/sbin/policy-rc.d
ours=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from hearth scripts/setup-system.sh: no service starts while installing\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  ours=1
fi
cleanup() { if [ -n "$ours" ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

# If the service started anyway (a policy that allows it, or systemd), stop it and keep it off.
if [[ " ${need[*]} " == *" nginx "* ]]; then
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
  elif [ -s /run/nginx.pid ]; then
    $SUDO /usr/sbin/nginx -s quit >/dev/null 2>&1 || true
  fi
fi
if [[ " ${need[*]} " == *" rabbitmq-server "* ]]; then
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now rabbitmq-server >/dev/null 2>&1 || true
  fi
fi
if [[ " ${need[*]} " == *" prometheus "* ]]; then
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi
if [[ " ${need[*]} " == *" redis-server "* ]]; then
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
  elif [ -s /run/redis/redis-server.pid ]; then
    $SUDO kill "$(cat /run/redis/redis-server.pid)" >/dev/null 2>&1 || true
  fi
fi
