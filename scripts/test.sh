#!/usr/bin/env bash
# `npm test`: the whole suite on this machine. Installs what is missing, builds
# the tiny guest image once (cached), type-checks, lints, then runs the unit
# tests and the integration tests that boot real QEMU guests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
node --import tsx scripts/build-image.ts
echo "==> Type-check"; npx tsc --noEmit -p tsconfig.json
echo "==> Lint"; npx eslint . --max-warnings=0
mkdir -p .drover
echo "==> Tests"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.drover/vitest.json "$@" || status=$?
# One plain closing line that any CI reads: "N passed, N failed, N skipped".
node -e '
  const r = JSON.parse(require("fs").readFileSync(".drover/vitest.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  if (r.numTotalTests === 0) process.exit(1);
' || status=1
exit $status
