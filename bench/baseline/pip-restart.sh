#!/usr/bin/env bash
# The baseline of the release part: JAWS's venv install method as a plain script over SSH (see
# /work/shared/reference/jaws-today.md, "Install, venv method"): pip installs the version into the
# venv in place, then supervisorctl restarts the group. No health gate, no rollback: going back is
# running it again with the previous version.
#
# usage: pip-restart.sh HOST PORT USER KEY DIR VERSION FIND_LINKS
#   SSH_OPTS  extra ssh options (pinned host key, batch mode), split on spaces
set -euo pipefail
host=$1 port=$2 user=$3 key=$4 dir=$5 version=$6 links=$7
read -r -a opts <<<"${SSH_OPTS:-}"
printf '[baseline %s] pip install jawsdemo==%s, restart demo:*\n' "$(date +%T.%3N)" "$version"
ssh "${opts[@]}" -i "$key" -p "$port" "$user@$host" -- \
  "$dir/venv/bin/pip install --disable-pip-version-check --quiet --no-index --find-links $links jawsdemo==$version && /usr/bin/supervisorctl -c $dir/supervisord.conf restart 'demo:*'"
