# Shared helpers of scripts/up.sh and scripts/down.sh (sourced, not run).
DROVER_HOME=${DROVER_HOME:-$HOME/.local/share/drover}
CTL_DIR=$DROVER_HOME/controller
AGENT_NAME=${DROVER_AGENT_NAME:-local}
AGENT_DIR=$DROVER_HOME/agents/$AGENT_NAME
CTL_PORT=${DROVER_PORT:-7480}
CTL_URL=http://127.0.0.1:$CTL_PORT
CONFIG_FILE=${XDG_CONFIG_HOME:-$HOME/.config}/drover/config.json

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# pid_alive PIDFILE: true when the pidfile names a live process.
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_for_line LOG PATTERN SECONDS PIDFILE
wait_for_line() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    pid_alive "$4" || return 1
    sleep 0.1
  done
  return 1
}
