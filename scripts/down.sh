#!/usr/bin/env bash
# `npm run down`: stops the VMs, the local agent and the controller that
# `npm run up` started (by their recorded PIDs). State and images are kept;
# `npm run down -- --purge` also deletes the VMs and Drover's state.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
purge=0
[ "${1:-}" = --purge ] && purge=1

if pid_alive "$CTL_DIR/controller.pid" && pid_alive "$AGENT_DIR/agent.pid"; then
  if [ $purge = 1 ]; then
    for vm in $(./bin/drover vm list --json | node -e 'for (const v of JSON.parse(require("fs").readFileSync(0))) console.log(v.name)'); do
      say "Deleting VM $vm"; ./bin/drover vm delete "$vm" || true
    done
  else
    for vm in $(./bin/drover vm list --json | node -e 'for (const v of JSON.parse(require("fs").readFileSync(0))) if (v.phase==="Running"||v.phase==="Paused") console.log(v.name)'); do
      say "Stopping VM $vm"; ./bin/drover vm stop --force "$vm" || true
    done
  fi
fi
for f in "$AGENT_DIR/agent.pid" "$CTL_DIR/controller.pid"; do
  if pid_alive "$f"; then
    pid=$(cat "$f"); say "Stopping pid $pid ($(basename "$f" .pid))"
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$f"
done
if [ $purge = 1 ]; then rm -rf "$DROVER_HOME" "$CONFIG_FILE"; say "Removed $DROVER_HOME"; fi
