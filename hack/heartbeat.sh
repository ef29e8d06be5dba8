#!/usr/bin/env bash
# hack/heartbeat.sh NAME CMD...: run CMD (its output passes through) and, while it
# runs, print "    NAME: Ns so far" every GARDEN_HEARTBEAT_SECONDS (30); then the
# time it took. For quiet steps of minutes (pip installing Airflow) in the Makefile.
set -euo pipefail
name=$1
shift
interval=${GARDEN_HEARTBEAT_SECONDS:-30}
start=$(date +%s)
# sleep gets no copy of stdout/stderr: a reader of this output must not wait for an
# orphaned sleep after the beating subshell is killed
( while sleep "$interval" >/dev/null 2>&1; do
      printf '    %s: %ss so far\n' "$name" "$(($(date +%s) - start))" >&2
  done ) &
beater=$!
rc=0
"$@" || rc=$?
kill "$beater" 2>/dev/null || true
wait "$beater" 2>/dev/null || true
if [ "$rc" -eq 0 ]; then
    printf '    %s: done in %ss\n' "$name" "$(($(date +%s) - start))" >&2
else
    printf '    %s: failed after %ss (exit %s)\n' "$name" "$(($(date +%s) - start))" "$rc" >&2
fi
exit "$rc"
