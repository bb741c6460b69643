#!/usr/bin/env bash
# The baseline: a deploy the way JAWS's CI job did it (see /work/shared/reference/jaws-deployment.md,
# "How CI deployed it"), as a plain script that reaches the host over SSH:
#
#   for every instance:  ssh  supervisorctl stop '<group>:*'
#   for every instance:  scp  supervisord.conf and the shims
#   for every instance:  ssh  supervisorctl reread; supervisorctl start '<group>:*'
#
# To be fair to it, it is the lean form of that job: one `scp` per instance for all files, and reread
# and start in one `ssh` (JAWS ran them as separate CI steps). It does not rebuild venvs (nothing
# changed there) and never starts supervisord (JAWS did not either: that was a manual step). The
# stop-everything / start-everything order is JAWS's: files are replaced while nothing runs.
#
# usage: jaws-deploy.sh HOST PORT GROUP USER:KEY:SRC_DIR:REMOTE_DIR...
#   SSH_OPTS  extra ssh options (pinned host key, batch mode), split on spaces
set -euo pipefail
host=$1 port=$2 group=$3
shift 3
read -r -a opts <<<"${SSH_OPTS:-}"

ctl() { # REMOTE_DIR ARGS...: the supervisorctl command line run on the host
  local dir=$1
  shift
  printf 'supervisorctl -c %q/supervisord.conf' "$dir"
  printf ' %q' "$@"
}

step() { printf '[baseline %s] %s\n' "$(date +%T.%3N)" "$*"; }

for spec in "$@"; do
  IFS=: read -r user key _src dir <<<"$spec"
  step "$user: stop $group:*"
  ssh "${opts[@]}" -i "$key" -p "$port" "$user@$host" -- "$(ctl "$dir" stop "$group:*")"
done
for spec in "$@"; do
  IFS=: read -r user key src dir <<<"$spec"
  step "$user: copy supervisord.conf and shims"
  scp -q "${opts[@]}" -i "$key" -P "$port" -r "$src/supervisord.conf" "$src/shims" "$user@$host:$dir/"
done
for spec in "$@"; do
  IFS=: read -r user key _src dir <<<"$spec"
  step "$user: reread, start $group:*"
  ssh "${opts[@]}" -i "$key" -p "$port" "$user@$host" -- "$(ctl "$dir" reread) && $(ctl "$dir" start "$group:*")"
done
step "done"
