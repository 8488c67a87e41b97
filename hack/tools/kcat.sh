#!/usr/bin/env bash
# Makes sure kcat (librdkafka's command-line client) is on the PATH, for the interop tests. When it
# is there the script only checks it (well under a second); otherwise it installs the distribution's
# package: `apt-get update` then `apt-get install -y kcat` (through sudo when not root). Debian and
# Ubuntu only; elsewhere it says what to install and fails.
#
# It also checks that this kcat's librdkafka was built with every compression codec Kafka has
# (gzip, snappy, lz4, zstd), which the interop tests use.
#
# Usage: hack/tools/kcat.sh [--quiet]
#   --quiet   print nothing when kcat is already there and complete
set -euo pipefail

quiet=false
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=true ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "kcat.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

codecs=(gzip snappy lz4 zstd)

# kcat -V prints a line like "Version 1.7.1 (JSON, …, librdkafka 2.0.2 builtin.features=gzip,snappy,…)".
check() {
  local info features missing=()
  info="$(kcat -V 2>&1)"
  features="$(sed -n 's/.*builtin\.features[=:] *\([^ )]*\).*/\1/p' <<<"$info" | head -n 1)"
  for c in "${codecs[@]}"; do
    [[ ",$features," == *",$c,"* ]] || missing+=("$c")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "kcat.sh: $(command -v kcat) lacks compression codecs: ${missing[*]} (builtin.features: ${features:-none})" >&2
    return 1
  fi
  $quiet || echo "kcat.sh: $(command -v kcat): $(grep -m 1 '^Version' <<<"$info" | sed 's/ (.*librdkafka/, librdkafka/; s/ builtin.*//'), codecs ${codecs[*]} present"
}

if command -v kcat >/dev/null; then
  check
  exit
fi

if ! command -v apt-get >/dev/null; then
  echo "kcat.sh: kcat is not on the PATH and this is not a Debian/Ubuntu system; install kcat" \
    "(a.k.a. kafkacat) with your package manager" >&2
  exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "kcat.sh: kcat is not on the PATH, and installing it needs root (or sudo): apt-get install kcat" >&2
    exit 1
  fi
  as_root=(sudo)
fi

echo "kcat.sh: kcat is not on the PATH; installing the Debian package kcat"
echo "kcat.sh: ${as_root[*]:+${as_root[*]} }apt-get update"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
echo "kcat.sh: ${as_root[*]:+${as_root[*]} }apt-get install -y kcat"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q kcat
command -v kcat >/dev/null || { echo "kcat.sh: apt-get installed kcat, yet it is not on the PATH" >&2; exit 1; }
echo "kcat.sh: installed $(dpkg-query -W -f '${Package} ${Version}' kcat 2>/dev/null || echo kcat)"
quiet=false
check
