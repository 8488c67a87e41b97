#!/usr/bin/env bash
# Fetches Apache Kafka's jars from Maven Central with Maven (hack/kafka/pom.xml:
# `dependency:copy-dependencies`) and caches them, for bench/vs-kafka.ts and the interop tests:
#
#   ${TRIBUTARY_KAFKA_CACHE:-$HOME/.cache/tributary/kafka}/<kafka.version>/libs/*.jar
#   ${...}/<kafka.version>/fetch.log   Maven's full output of the last fetch
#
# The version is the pom's <kafka.version>. The cache is complete when libs/.pom-sha256 holds the
# hash of the pom it was fetched for: then the script exits at once, without running Maven. Jars go
# through the local Maven repository (~/.m2), so a second cache directory costs no download either.
# Nothing is downloaded except by Maven, and the pom names no repository but Maven's default, Central.
#
# Usage: hack/kafka/fetch.sh [--print-dir | --print-classpath]
#   --print-dir        print the libs directory and exit (fetches nothing)
#   --print-classpath  fetch if needed (progress on stderr), then print the classpath (`<libs>/*`)
# Environment:
#   TRIBUTARY_KAFKA_CACHE   cache root (default $HOME/.cache/tributary/kafka)
#   MVN                     the Maven command (default mvn)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
pom="$here/pom.xml"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom" | head -n 1)"
if [ -z "$version" ]; then
  echo "kafka-fetch: cannot read <kafka.version> from $pom" >&2
  exit 1
fi
dir="${TRIBUTARY_KAFKA_CACHE:-$HOME/.cache/tributary/kafka}/$version"
libs="$dir/libs"

print_classpath=false
for arg in "$@"; do
  case "$arg" in
    --print-dir) echo "$libs"; exit 0 ;;
    --print-classpath) print_classpath=true ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "kafka-fetch: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done
# With --print-classpath, stdout carries only the classpath; progress goes to stderr.
if $print_classpath; then exec 3>&1 1>&2; else exec 3>/dev/null; fi

pom_sha="$(sha256sum "$pom" | cut -d' ' -f1)"
cached() { [ -f "$libs/.pom-sha256" ] && [ "$(cat "$libs/.pom-sha256")" = "$pom_sha" ]; }
done_() {
  echo "kafka-fetch: cached: $libs (Apache Kafka $version, $(find "$libs" -name '*.jar' | wc -l) jars)"
  echo "$libs/*" >&3
  exit 0
}
cached && done_

# --- a fetch is needed -----------------------------------------------------------------------------
mvn_cmd="${MVN:-mvn}"
if ! command -v "$mvn_cmd" >/dev/null; then
  echo "kafka-fetch: Maven ($mvn_cmd) is not installed; it is needed once, to fetch Kafka $version's jars" >&2
  exit 1
fi
mkdir -p "$dir"

# One fetch per cache directory at a time (parallel test workers, two terminals).
if command -v flock >/dev/null; then
  exec 9>"$dir/.lock"
  if ! flock -n 9; then
    echo "kafka-fetch: another fetch of Kafka $version is running; waiting for it"
    flock 9
  fi
  cached && done_
fi

echo "kafka-fetch: fetching Apache Kafka $version's jars from Maven Central into $libs"
started=$(date +%s)
staging="$dir/libs.partial"
rm -rf "$staging"
log="$dir/fetch.log"
# -B: no colours or interactive progress bars; the filter shows one line per downloaded file.
set +e
"$mvn_cmd" -B -f "$pom" dependency:copy-dependencies \
  -DoutputDirectory="$staging" -DincludeScope=runtime -DoverWriteIfNewer=false 2>&1 |
  tee "$log" |
  sed -un 's|^\[INFO\] Downloaded from \([^:]*\): .*/\([^/]*\) (\(.*\))$|kafka-fetch:   \2 (\3, \1)|p'
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then
  echo "kafka-fetch: Maven failed (exit $status); the last lines of $log:" >&2
  grep -E '^\[(ERROR|WARNING)\]' "$log" | tail -n 20 >&2 || tail -n 20 "$log" >&2
  exit 1
fi
echo "$pom_sha" >"$staging/.pom-sha256"
rm -rf "$libs"
mv "$staging" "$libs"
echo "kafka-fetch: done in $(($(date +%s) - started)) s"
done_
