#!/usr/bin/env bash
# Installs what Drover needs on this machine, or says exactly what is missing.
# Used by `npm run up` and `npm test`. Safe to run again: it only installs
# what is not there. Set DROVER_SKIP_APT=1 to never call apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Node.js 20.19 or newer (vitest and vite need it).
node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=19)?1:0)' 2>/dev/null || echo 0)
[ "$node_ok" = 1 ] || die "Node.js >= 20.19 is required (found: $(node --version 2>/dev/null || echo none))"

# command -> Debian package that provides it
declare -A need=(
  [qemu-system-x86_64]=qemu-system-x86
  [qemu-img]=qemu-utils
  [cpio]=cpio
  [dpkg-deb]=dpkg
  [gzip]=gzip
  [ip]=iproute2
)
missing=()
for cmd in "${!need[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${need[$cmd]}"); done
# The guest image needs the static busybox (a dynamic one cannot run in the initramfs).
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
if [ ! -d node_modules/better-sqlite3/build ]; then
  for cmd in make g++ python3; do command -v "$cmd" >/dev/null 2>&1 || missing+=(build-essential python3); done
fi

if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" = 0 ] && [ "${DROVER_SKIP_APT:-0}" != 1 ]; then
    say "Installing Debian packages: $pkgs"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  else
    die "missing Debian packages: $pkgs
       install them with: sudo apt-get install $pkgs"
  fi
fi

# npm dependencies: install when absent or when the lock file changed.
stamp=node_modules/.drover-lock-sha
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "Installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
