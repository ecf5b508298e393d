#!/usr/bin/env bash
# Installs everything kiln needs on Debian 12, idempotently: only missing packages are
# installed (with sudo when not root). Safe to run again and again.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libjansson-dev libssl-dev zlib1g-dev catch2 valgrind
  libmicrohttpd-dev libdnnl-dev libzip-dev libsqlite3-dev libelf-dev libcurl4-openssl-dev
  python3 python3-numpy python3-venv python3-pip python3-wheel
  dataset-fashion-mnist bazel-bootstrap nginx libnginx-mod-http-dav-ext
  python3-torch libopenblas0-pthread curl procps time
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
