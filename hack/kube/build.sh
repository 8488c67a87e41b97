#!/usr/bin/env bash
# Builds the Kubernetes control plane the kube test tier runs against (test/kube/harness.ts), from Go
# modules only (GOPROXY), with the installed Go, and caches the binaries:
#
#   ${TRIBUTARY_KUBE_CACHE:-$HOME/.cache/tributary/kube}/<k8s>-etcd<etcd>/bin/
#       etcd  kube-apiserver  kube-controller-manager  kube-scheduler  kubectl
#   ${...}/<k8s>-etcd<etcd>/build-info.txt   what was built, with which Go, how long it took
#
# The versions are those pinned by the wrapper modules hack/kube/kubernetes/go.mod and
# hack/kube/etcd/go.mod (regenerate them with hack/kube/pin.sh). When every requested binary is
# already cached the script exits at once, without running go. Nothing it builds is committed.
#
# Usage: hack/kube/build.sh [--print-dir] [binary ...]
#   binary       any of etcd kube-apiserver kube-controller-manager kube-scheduler kubectl
#                (default: all five)
#   --print-dir  print the bin directory and exit (builds nothing)
# Environment:
#   TRIBUTARY_KUBE_CACHE   cache root (default $HOME/.cache/tributary/kube)
#   GOFLAGS                passed on to go, e.g. GOFLAGS=-p=1 to compile one package at a time
#   KUBE_BUILD_PROGRESS    seconds between progress lines (default 15)
# A cold build takes about 11 minutes on two cores (20 s with a warm Go build cache); see
# docs/adr/0006-kube-control-plane-build.md.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
all_binaries=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)

# --- versions and cache directory (no go invocation: the cached path must cost nothing) ----------
pinned() { # go.mod module-path -> the version it requires
  awk -v m="$2" '{ for (i = 1; i < NF; i++) if ($i == m && $(i + 1) ~ /^v[0-9]/) { print $(i + 1); exit } }' "$1"
}
k8s_version="$(pinned "$here/kubernetes/go.mod" k8s.io/kubernetes)"
etcd_version="$(pinned "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)"
if [ -z "$k8s_version" ] || [ -z "$etcd_version" ]; then
  echo "kube-build: cannot read the pinned versions from $here/{kubernetes,etcd}/go.mod" >&2
  exit 1
fi
cache_root="${TRIBUTARY_KUBE_CACHE:-$HOME/.cache/tributary/kube}"
key="${k8s_version#v}-etcd${etcd_version#v}"
dir="$cache_root/$key"
bin="$dir/bin"

wanted=()
for arg in "$@"; do
  case "$arg" in
    --print-dir) echo "$bin"; exit 0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    etcd | kube-apiserver | kube-controller-manager | kube-scheduler | kubectl) wanted+=("$arg") ;;
    *) echo "kube-build: unknown argument '$arg' (binaries: ${all_binaries[*]})" >&2; exit 2 ;;
  esac
done
[ "${#wanted[@]}" -gt 0 ] || wanted=("${all_binaries[@]}")

missing() { # prints the wanted binaries not yet in the cache
  local b
  for b in "${wanted[@]}"; do [ -x "$bin/$b" ] || echo "$b"; done
}
if [ -z "$(missing)" ]; then
  echo "kube-build: cached: $bin (kubernetes $k8s_version, etcd $etcd_version)"
  exit 0
fi

# --- a build is needed ----------------------------------------------------------------------------
export GOTOOLCHAIN=local GOWORK=off GO111MODULE=on CGO_ENABLED=0
command -v go >/dev/null || { echo "kube-build: go is not installed" >&2; exit 1; }
go_version="$(go env GOVERSION)"
mkdir -p "$bin"

# One build per cache directory at a time (parallel test workers, two terminals).
if command -v flock >/dev/null; then
  exec 9>"$dir/.lock"
  if ! flock -n 9; then
    echo "kube-build: another build of $key is running; waiting for it"
    flock 9
  fi
fi
mapfile -t todo < <(missing)
if [ "${#todo[@]}" -eq 0 ]; then
  echo "kube-build: cached: $bin (built meanwhile by another run)"
  exit 0
fi

started=$SECONDS
interval="${KUBE_BUILD_PROGRESS:-15}"
stamp() { printf '[kube-build %3dm%02ds]' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)); }
say() { echo "$(stamp) $*"; }
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f '%e %M' -o)
logs="$dir/logs"
mkdir -p "$logs"

# run_step LABEL LOG TOTAL STATS -- command...: runs the command in the background, printing the
# elapsed time and the number of packages compiled so far (lines of `go build -v`) every $interval s.
# STATS (unless "-") receives "<seconds> <peak RSS KiB>" from /usr/bin/time when it is installed.
run_step() {
  local label="$1" log="$2" total="$3" stats="$4" pid begin next rc=0
  shift 5
  begin=$SECONDS
  next=$((SECONDS + interval))
  if [ "$stats" != - ] && [ "${#timer[@]}" -gt 0 ]; then
    "${timer[@]}" "$stats" "$@" >"$log" 2>&1 &
  else
    "$@" >"$log" 2>&1 &
  fi
  pid=$!
  trap 'kill "$pid" 2>/dev/null; exit 130' INT TERM
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if [ "$SECONDS" -ge "$next" ]; then
      next=$((SECONDS + interval))
      if [ "$total" -gt 0 ]; then
        say "$label: $(grep -cv '[ :]' "$log" || true) packages compiled (import graph: $total) — $((SECONDS - begin))s"
      else
        say "$label: $((SECONDS - begin))s"
      fi
    fi
  done
  wait "$pid" || rc=$?
  trap - INT TERM
  if [ "$rc" -ne 0 ]; then
    say "$label FAILED (exit $rc); last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit "$rc"
  fi
}

say "building ${todo[*]} into $bin"
say "kubernetes $k8s_version, etcd $etcd_version, $go_version, GOFLAGS='${GOFLAGS:-}'"

k8s_tags="selinux,notest,grpcnotrace" # what Kubernetes' own release build uses

# Step 1: fetch the modules (through GOPROXY, into GOMODCACHE) and list each binary's import graph
# (for the progress lines). `go list -deps` downloads exactly the modules those binaries import.
list_deps() {
  local b
  for b in "${todo[@]}"; do
    if [ "$b" = etcd ]; then
      go -C "$here/etcd" list -mod=readonly -deps . >"$logs/$b.deps"
    else
      go -C "$here/kubernetes" list -mod=readonly -tags "$k8s_tags" -deps "k8s.io/kubernetes/cmd/$b" >"$logs/$b.deps"
    fi
  done
}
say "step 1: download modules and list packages (go list -deps)"
run_step "modules" "$logs/modules.log" 0 - -- list_deps
say "step 1 done: modules in $(go env GOMODCACHE)"

# Version stamps, as Kubernetes' hack/lib/version.sh sets them, so `kube-apiserver --version` tells
# the truth. The build date is the release's (the module's time), which keeps builds reproducible.
k8s_time="$(go -C "$here/kubernetes" list -mod=readonly -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)"
minor="${k8s_version#v1.}"
minor="${minor%%.*}"
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$k8s_time"
done

info="$dir/build-info.txt"
{
  echo "kubernetes $k8s_version, etcd $etcd_version, $go_version $(go env GOOS)/$(go env GOARCH), $(nproc) CPUs"
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ), GOFLAGS='${GOFLAGS:-}', step 1 (modules) $((SECONDS - started))s"
} >>"$info"

n=1
for b in "${todo[@]}"; do
  n=$((n + 1))
  out="$bin/.$b.partial"
  stats="$logs/$b.time"
  total="$(wc -l <"$logs/$b.deps")"
  say "step $n: $b ($total packages in its import graph)"
  begin=$SECONDS
  if [ "$b" = etcd ]; then
    run_step "$b" "$logs/$b.log" "$total" "$stats" -- \
      go -C "$here/etcd" build -mod=readonly -trimpath -buildvcs=false -ldflags "-s -w" -v -o "$out" .
  else
    run_step "$b" "$logs/$b.log" "$total" "$stats" -- \
      go -C "$here/kubernetes" build -mod=readonly -trimpath -buildvcs=false -tags "$k8s_tags" \
      -ldflags "$k8s_ldflags" -v -o "$out" "k8s.io/kubernetes/cmd/$b"
  fi
  mv -f "$out" "$bin/$b"
  size="$(du -m "$bin/$b" | cut -f1)"
  rss=""
  [ -s "$stats" ] && rss="$(awk 'END { printf "%.1f GiB", $2 / 1048576 }' "$stats")"
  line="$b: $((SECONDS - begin))s, ${size} MiB${rss:+, peak RSS of one process $rss}"
  say "step $n done: $line"
  echo "$line" >>"$info"
done
say "done in $((SECONDS - started))s: $bin"
echo "total $((SECONDS - started))s" >>"$info"
