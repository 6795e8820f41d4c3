#!/usr/bin/env bash
# Installs every Debian package Kontor needs to build, run and test, then the
# web app's npm packages. Idempotent: packages already present are skipped, and
# `npm ci` runs only when package-lock.json changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  # libraries
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev sqlite3 libpq-dev libsodium-dev libssl-dev libspdlog-dev libfmt-dev
  libtomlplusplus-dev libcli11-dev libhowardhinnant-date-dev tzdata libjemalloc-dev libcsv-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # bank file delivery (SFTP, OpenPGP) and the sshd and gpg its tests run
  libssh2-1-dev libgpgme-dev gnupg openssh-server openssh-client
  # messaging: outbound HTTP/2 and SMTP (libcurl), templates, and the SMTP server its tests run
  libcurl4-openssl-dev libnghttp2-dev libkainjow-mustache-dev python3-aiosmtpd
  # newsletter editions: PDF personalization (libqpdf) and the tools its tests check outputs with
  libqpdf-dev qpdf poppler-utils
  # servers and tools used by tests and benchmarks
  postgresql postgresql-contrib nginx-light wrk curl ca-certificates python3 procps
  # browser tests
  chromium
)
# Node.js (with its npm) may come from another repository on the machine;
# install Debian's only when there is none, since Debian splits npm out.
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  # Debian's postgresql package would start a system cluster; Kontor's tests run
  # their own, so keep the default one from being created at all.
  $SUDO mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/kontor.conf >/dev/null
  # Likewise openssh-server would start a system sshd on port 22; the tests
  # start their own on loopback. Keep package scripts from starting services
  # unless the machine already has a policy.
  own_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    own_policy=1
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [[ -n $own_policy ]]; then
    $SUDO rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  fi
fi

if [[ -f web/package-lock.json ]]; then
  stamp=web/node_modules/.kontor-lock
  if [[ ! -f $stamp ]] || ! cmp -s web/package-lock.json "$stamp"; then
    (cd web && npm ci --no-audit --no-fund)
    cp web/package-lock.json "$stamp"
  fi
fi
