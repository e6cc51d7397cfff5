#!/usr/bin/env bash
# Installs what the tests need on a fresh machine, and nothing that is
# already there: the Go modules, and Debian's etcd-server (the oracle of the
# differential tests). Safe to run again.
set -euo pipefail

go mod download

if ! command -v etcd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: etcd is missing and installing it needs root: apt-get install -y etcd-server" >&2
    exit 1
  fi
  echo "deps: installing Debian's etcd-server (the differential tests' oracle)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq etcd-server etcd-client >/dev/null
fi
echo "deps: go modules and $(etcd --version 2>/dev/null | head -n1) ready"
