#!/usr/bin/env bash
# Everything this project needs on a Debian 12 (bookworm) machine before `make demo`
# or `make test`, installed or checked idempotently. A shell script because `make`
# itself may be missing. Each step says what it does and how long it took; steps
# longer than 30 s print a heartbeat with the elapsed seconds.
#
#   1. Debian packages: make, git, ca-certificates, python3 with venv, gcc/libc6-dev
#      (`apt-get update` only when a package has no install candidate).
#   2. Go >= GO in airflow_provider_garden/localseed/versions.py: the machine's
#      when new enough (go on PATH, /usr/local/go); else Debian's golang-go from
#      bookworm-backports fetches that release through the Go module proxy (Go's
#      toolchain mechanism) and /usr/local/bin/go links to it.
#   3. Kernel features of the local seed: br_netfilter and overlay (modprobe only
#      when missing; a clear error naming the module when loading fails).
#   4. The venv ($VENV, default .venv) and kubectl in it: a link to the kubectl of
#      the seed's own Kubernetes build (built once into the seed's cache, ~7 min
#      cold), never the machine's.
#
# Environment: PYTHON (python3.11), VENV (<repo>/.venv), GARDEN_SEED_CACHE.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3.11}
VENV=${VENV:-$repo/.venv}
HEARTBEAT=${GARDEN_HEARTBEAT_SECONDS:-30}
PACKAGES=(make git ca-certificates python3 python3-venv gcc libc6-dev)
BACKPORTS_LIST=/etc/apt/sources.list.d/garden-bookworm-backports.sources
export DEBIAN_FRONTEND=noninteractive

say() { printf '==> [prereqs] %s\n' "$*" >&2; }
die() { printf 'prereqs: %s\n' "$*" >&2; exit 1; }

# run_step NAME CMD...: CMD's output goes to a log shown on failure; a heartbeat
# line every $HEARTBEAT seconds while it runs.
run_step() {
    local name=$1 start log rc=0 beater
    shift
    start=$(date +%s)
    log=$(mktemp)
    say "$name ..."
    # sleep gets no copy of stderr: a reader of this script's output must not wait
    # for an orphaned sleep to end after the subshell is killed
    ( while sleep "$HEARTBEAT" >/dev/null 2>&1; do
          printf '    %s: %ss so far\n' "$name" "$(($(date +%s) - start))" >&2
      done ) &
    beater=$!
    "$@" >"$log" 2>&1 || rc=$?
    kill "$beater" 2>/dev/null || true
    wait "$beater" 2>/dev/null || true
    if [ "$rc" -ne 0 ]; then
        printf '    %s: failed after %ss; last output:\n' "$name" "$(($(date +%s) - start))" >&2
        tail -n 25 "$log" >&2
        rm -f "$log"
        return "$rc"
    fi
    rm -f "$log"
    printf '    %s: done in %ss\n' "$name" "$(($(date +%s) - start))" >&2
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "$1 needs root: run hack/prereqs.sh as root (e.g. with sudo)"
}

# --- 1. Debian packages -------------------------------------------------------
missing_packages() {
    local p
    for p in "$@"; do
        [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || echo "$p"
    done
}

has_candidate() {
    # read whole, then match: `apt-cache | grep -q` fails under pipefail when grep
    # exits early and apt-cache gets SIGPIPE
    local policy
    policy=$(apt-cache policy "$1" 2>/dev/null)
    [[ $policy == *"Candidate: "[!\(]* ]]
}

apt_install() {  # apt_install [-t SUITE] PKG...: update the lists only when needed
    local suite=() p what
    if [ "$1" = -t ]; then suite=(-t "$2"); shift 2; fi
    what="apt-get install ${suite[*]:+${suite[*]} }$*"
    need_root "installing $*"
    for p in "$@"; do
        if ! has_candidate "$p"; then
            run_step "apt-get update" apt-get update
            break
        fi
    done
    if ! run_step "$what" apt-get install -y --no-install-recommends "${suite[@]}" "$@"; then
        # lists older than the mirror answer 404 for replaced versions: refresh once
        run_step "apt-get update (retry)" apt-get update
        run_step "$what" apt-get install -y --no-install-recommends "${suite[@]}" "$@"
    fi
}

ensure_packages() {
    local missing
    mapfile -t missing < <(missing_packages "${PACKAGES[@]}")
    if [ "${#missing[@]}" -eq 0 ]; then
        say "Debian packages: ${PACKAGES[*]} installed"
    else
        apt_install "${missing[@]}"
    fi
    "$PYTHON" -c 'import ensurepip, venv, sys; assert sys.version_info >= (3, 11)' 2>/dev/null ||
        die "$PYTHON with ensurepip/venv (>= 3.11) is missing: install python3.11-venv or set PYTHON"
}

# --- 2. Go ---------------------------------------------------------------------
go_version() {  # go_version GO -> "1.26.0" (empty, and status 0, when not a working go)
    { GOTOOLCHAIN=local "$1" env GOVERSION 2>/dev/null || true; } |
        sed -n 's/^go\([0-9][0-9.]*\).*/\1/p'
}

version_at_least() {  # version_at_least HAVE WANT
    [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

go_candidates() {
    command -v go || true
    echo /usr/local/go/bin/go
    echo /usr/local/bin/go
}

wanted_go() {  # the GO = "1.26.0" line of localseed/versions.py
    sed -n 's/^GO = "\([0-9.]*\)".*/\1/p' "$repo/airflow_provider_garden/localseed/versions.py"
}

ensure_go() {
    local want go have bootstrap="" goroot
    want=$(wanted_go)
    [ -n "$want" ] || die "no GO = \"...\" line in airflow_provider_garden/localseed/versions.py"
    for go in $(go_candidates); do
        [ -x "$go" ] || continue
        have=$(go_version "$go")
        if version_at_least "$have" "$want"; then
            say "Go: $go is go$have (>= $want)"
            return
        fi
    done
    # Go's toolchain mechanism (GOTOOLCHAIN) exists from Go 1.21 on; bookworm has 1.19,
    # bookworm-backports a newer golang-go.
    for go in $(go_candidates) /usr/lib/go-1.*/bin/go; do
        [ -x "$go" ] || continue
        if version_at_least "$(go_version "$go")" 1.21; then bootstrap=$go; break; fi
    done
    if [ -z "$bootstrap" ]; then
        need_root "installing golang-go from bookworm-backports"
        if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
            say "adding bookworm-backports to apt's sources ($BACKPORTS_LIST)"
            cat >"$BACKPORTS_LIST" <<EOF
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
            run_step "apt-get update" apt-get update
        fi
        apt_install -t bookworm-backports golang-go
        bootstrap=$(readlink -f /usr/bin/go)
    fi
    need_root "linking Go $want into /usr/local/bin"
    run_step "go$want through the Go module proxy (GOTOOLCHAIN, with $bootstrap)" \
        env GOTOOLCHAIN="go$want" "$bootstrap" version
    goroot=$(GOTOOLCHAIN="go$want" "$bootstrap" env GOROOT)
    [ "$(go_version "$goroot/bin/go")" = "$want" ] ||
        die "the fetched toolchain in $goroot does not report go$want"
    ln -sfn "$goroot/bin/go" /usr/local/bin/go
    ln -sfn "$goroot/bin/gofmt" /usr/local/bin/gofmt
    say "Go: /usr/local/bin/go -> $goroot/bin/go (go$want)"
}

# --- 3. kernel -----------------------------------------------------------------
ensure_module() {  # ensure_module MODULE PRESENT-TEST...
    local module=$1 err
    shift
    if "$@"; then
        say "kernel: $module present"
        return
    fi
    need_root "loading the kernel module $module"
    command -v modprobe >/dev/null || apt_install kmod
    if ! err=$(modprobe "$module" 2>&1) || ! "$@"; then
        die "the kernel module $module is missing and could not be loaded (modprobe $module: ${err:-loaded, but not in effect}); the local seed needs it: use a kernel with $module built in or loadable"
    fi
    say "kernel: loaded $module"
}

bridge_netfilter() { [ -d /proc/sys/net/bridge ]; }
overlay_fs() { grep -qw overlay /proc/filesystems; }

# --- 4. venv and kubectl ---------------------------------------------------------
ensure_venv_kubectl() {
    if [ ! -x "$VENV/bin/python" ]; then
        run_step "python venv $VENV" "$PYTHON" -m venv "$VENV"
    fi
    # localseed is stdlib-only: the machine's Python runs it before pip installed anything.
    (cd "$repo" && "$PYTHON" -m airflow_provider_garden.localseed.venv_kubectl "$VENV")
}

main() {
    local start
    start=$(date +%s)
    ensure_packages
    ensure_go
    ensure_module br_netfilter bridge_netfilter
    ensure_module overlay overlay_fs
    ensure_venv_kubectl
    say "all prerequisites present ($(($(date +%s) - start))s)"
}

# Sourced (tests call single steps), it only defines the functions.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main
fi
