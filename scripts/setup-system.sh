#!/usr/bin/env bash
# System packages Hearth's tests and benchmarks use, from Debian's packages, installed only when
# missing (idempotent). Needs root (or sudo) for apt-get; without it, says what to install.
set -euo pipefail

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)

if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "hearth setup: please install: ${need[*]} (apt-get install -y ${need[*]})" >&2; exit 1
  fi
else SUDO=; fi
echo "hearth setup: installing ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
