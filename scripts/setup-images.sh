#!/usr/bin/env bash
# The container tier's set-up on a Debian machine, idempotent (a no-op when all is there):
#   1. installs what is missing, from Debian's packages: docker.io (the engine and its CLI),
#      debootstrap (the runtime images are built from Debian's packages, there is no registry),
#      openjdk-17-jdk-headless when javac is missing (the java17 bootstrap is compiled on the host);
#   2. starts dockerd in the background when no engine answers (log: /var/log/hearth-dockerd.log)
#      and waits for it (up to 60 s); with DOCKER_HOST set, that engine must answer instead;
#   3. builds the runtime images that are missing: `hearth images build` (needs `npm run build`).
# Needs root (or password-less sudo) for 1, 2 and for a build; without them, says what to do.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "hearth images setup: $*" >&2; }

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  SUDO=(none)
fi
as_root() {
  if [ "${SUDO[0]:-}" = none ]; then return 1; fi
  "${SUDO[@]}" "$@"
}
need_root() {
  say "$1"
  say "run this script as root (or with password-less sudo): sudo bash scripts/setup-images.sh"
  exit 1
}
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }

# 1. Packages.
need=()
have docker || need+=(docker.io)
if [ -z "${DOCKER_HOST:-}" ] && ! have dockerd; then need+=(docker.io); fi
have debootstrap || need+=(debootstrap)
{ have javac && have jar; } || need+=(openjdk-17-jdk-headless)
# The engine restart test's private dockerd: its bridge device (ip) and its parent-death signal (setpriv).
have ip || need+=(iproute2)
have setpriv || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  [ "${SUDO[0]:-}" = none ] && need_root "missing: ${need[*]} (apt-get install -y ${need[*]})"
  say "installing ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. The Docker engine.
engine_ok() { docker info >/dev/null 2>&1 || as_root docker info >/dev/null 2>&1; }
if ! engine_ok; then
  if [ -n "${DOCKER_HOST:-}" ]; then
    say "the Docker engine at DOCKER_HOST=$DOCKER_HOST does not answer (unset DOCKER_HOST to use a local dockerd)"
    exit 1
  fi
  if [ "${SUDO[0]:-}" = none ]; then
    if [ -S /var/run/docker.sock ]; then
      need_root "the Docker engine's socket (/var/run/docker.sock) is there but $(id -un) may not use it (add the user to the docker group)"
    fi
    need_root "no Docker engine answers, and starting dockerd needs root"
  fi
  say "starting dockerd (log: /var/log/hearth-dockerd.log)"
  as_root sh -c 'setsid dockerd >>/var/log/hearth-dockerd.log 2>&1 </dev/null &'
  for _ in $(seq 1 120); do
    engine_ok && break
    sleep 0.5
  done
  if ! engine_ok; then
    say "dockerd did not answer in 60 s; the end of its log:"
    as_root tail -n 20 /var/log/hearth-dockerd.log >&2 || true
    exit 1
  fi
fi

# 3. The runtime images (a no-op when the current ones are there).
if [ ! -f dist/core/cli.js ]; then
  say "dist/core/cli.js is missing: run \`npm run build\` first"
  exit 1
fi
NODE="$(command -v node)"
build=("$NODE" --no-node-snapshot dist/core/cli.js images build)
if [ "$(id -u)" -eq 0 ]; then
  "${build[@]}"
elif [ "${SUDO[0]:-}" != none ]; then
  # As root (debootstrap, chroot); DOCKER_HOST and PATH kept.
  "${SUDO[@]}" env "PATH=$PATH" ${DOCKER_HOST:+"DOCKER_HOST=$DOCKER_HOST"} "${build[@]}"
else
  # Without root: fine when the images are there; otherwise it says a build needs root.
  "${build[@]}" || need_root "the runtime images are missing, and building them needs root"
fi
