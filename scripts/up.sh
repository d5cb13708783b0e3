#!/usr/bin/env bash
# `npm run up`: installs what is missing, starts a controller and one local
# agent, builds the tiny guest image, and boots a demo VM you can reach.
# Running it again reuses everything that is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
. scripts/lib.sh

bash scripts/setup.sh
drover() { "$repo/bin/drover" "$@"; }
mkdir -p "$CTL_DIR" "$AGENT_DIR"

# The daemons run as compiled JS (less memory, faster start than through tsx);
# rebuild when a source file is newer than the last build.
if [ ! -f dist/.built ] || [ -n "$(find src -newer dist/.built -name '*.ts' -print -quit)" ]; then
  say "Compiling Drover (npm run build)"
  npm run --silent build
  touch dist/.built
fi
NODE_FLAGS=(--max-semi-space-size=1)

# 1. Controller
if pid_alive "$CTL_DIR/controller.pid"; then
  say "Controller already running (pid $(cat "$CTL_DIR/controller.pid")) at $CTL_URL"
else
  say "Starting the controller on $CTL_URL"
  : > "$CTL_DIR/controller.log"
  setsid node "${NODE_FLAGS[@]}" dist/controller/main.js --state-dir "$CTL_DIR" --listen "127.0.0.1:$CTL_PORT" \
    >>"$CTL_DIR/controller.log" 2>&1 < /dev/null &
  echo $! > "$CTL_DIR/controller.pid"
  wait_for_line "$CTL_DIR/controller.log" 'controller ready' 30 "$CTL_DIR/controller.pid" ||
    die "the controller did not start; see $CTL_DIR/controller.log:
$(tail -n 20 "$CTL_DIR/controller.log")"
fi

# 2. CLI configuration (URL + admin token), readable by this user only.
mkdir -p "$(dirname "$CONFIG_FILE")"
umask 077
printf '{"url":"%s","token":"%s"}\n' "$CTL_URL" "$(cat "$CTL_DIR/admin-token")" > "$CONFIG_FILE"
umask 022

# 3. Local agent
if pid_alive "$AGENT_DIR/agent.pid"; then
  say "Agent '$AGENT_NAME' already running (pid $(cat "$AGENT_DIR/agent.pid"))"
else
  say "Starting the host agent '$AGENT_NAME'"
  : > "$AGENT_DIR/agent.log"
  DROVER_JOIN_TOKEN=$(cat "$CTL_DIR/join-token") setsid node "${NODE_FLAGS[@]}" dist/agent/main.js \
    --controller "$CTL_URL" --name "$AGENT_NAME" --state-dir "$AGENT_DIR" \
    >>"$AGENT_DIR/agent.log" 2>&1 < /dev/null &
  echo $! > "$AGENT_DIR/agent.pid"
  wait_for_line "$AGENT_DIR/agent.log" 'agent ready' 30 "$AGENT_DIR/agent.pid" ||
    die "the agent did not start; see $AGENT_DIR/agent.log:
$(tail -n 20 "$AGENT_DIR/agent.log")"
fi
for _ in $(seq 1 50); do
  drover host list --json | grep -q '"state":"Ready"' && break
  sleep 0.2
done

# 4. The tiny guest image (built once, cached under ~/.cache/drover/images).
if drover image list --json | grep -q '"name":"tiny"'; then
  say "Image 'tiny' is ready"
else
  say "Building the tiny guest image (kernel from Debian + busybox; first time only)"
  drover image build tiny
fi

# 5. The demo VM, with its HTTP port forwarded to the host.
port_free() { ! (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if drover vm show demo --json > /tmp/drover-demo.$$ 2>/dev/null; then
  port=$(node -e 'const v=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log(v.spec.ports[0]?.hostPort??"")' /tmp/drover-demo.$$)
  phase=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).phase)' /tmp/drover-demo.$$)
  if [ "$phase" != Running ]; then say "Starting the demo VM"; drover vm start demo; else say "Demo VM is running"; fi
else
  port=${DROVER_DEMO_PORT:-8080}
  while ! port_free "$port"; do port=$((port + 1)); done
  say "Creating the demo VM (2 vCPUs, 256 MiB, HTTP on 127.0.0.1:$port)"
  drover vm create demo --image tiny --cpus 2 --memory 256 --port "$port:80"
fi
rm -f /tmp/drover-demo.$$

# 6. Wait until the guest has booted (its DROVER-READY marker) and answers HTTP.
say "Waiting for the demo guest to boot"
for _ in $(seq 1 120); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'GET /health HTTP/1.0\r\n\r\n' >&3 && grep -q '^ok' <&3) 2>/dev/null && break
  sleep 0.5
done

cat <<MSG

Drover is up.
  Controller   $CTL_URL   (API docs: $CTL_URL/openapi.json)
  Demo VM      curl http://127.0.0.1:$port/info
  Serial       ./bin/drover vm console demo      (detach with Ctrl-])

Try:
  ./bin/drover vm list
  ./bin/drover vm show demo
  ./bin/drover vm create web --image tiny --cpus 1 --memory 256 --port 8081:80
  ./bin/drover vm stop demo && ./bin/drover vm start demo
  ./bin/drover host list
  ./bin/drover vm logs demo

Logs: $CTL_DIR/controller.log, $AGENT_DIR/agent.log
The CLI reads the controller URL and admin token from $CONFIG_FILE (mode 0600).
Stop everything (VMs included): npm run down
MSG
