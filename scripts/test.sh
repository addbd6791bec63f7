#!/usr/bin/env bash
# The README's test command (`npm test`): set up what the tests need on a fresh machine, build, test.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real Nginx for the end-to-end tests (Debian's nginx-light), installed when missing.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "test setup: installing nginx-light with apt-get"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light >/dev/null
fi

# Debian's Chromium for the browser test (playwright-core drives the system binary; it downloads nothing).
if [ ! -x /usr/bin/chromium ]; then
  echo "test setup: installing chromium with apt-get"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

# OpenSSH (client and server), rsync and iproute2 for the multi-host tests (test/e2e/hosts.test.ts
# starts sshd in network namespaces of its own).
missing=""
command -v ssh >/dev/null 2>&1 || missing="$missing openssh-client"
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
command -v rsync >/dev/null 2>&1 || missing="$missing rsync"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
if [ -n "$missing" ]; then
  echo "test setup: installing$missing with apt-get"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

# node_modules (with PM2 and the TypeScript compiler) come from `npm ci`; a fresh clone that skipped it still works.
[ -d node_modules ] || npm ci --no-audit --no-fund

# Lint and formatting (Biome): a failure here names the file and the rule; `npm run format` fixes most.
npx biome ci --error-on-warnings .
node scripts/check-imports.mjs
npm run build
node scripts/config-reference.mjs --check README.md
if [ $# -gt 0 ]; then
  npx vitest run "$@"
else
  # Unit tests (no real process) and integration tests (real processes: the CLI, apps, sshd, the host
  # contract) side by side; end-to-end files one at a time (each runs a real PM2 daemon and Nginx).
  npx vitest run test/unit test/integration --file-parallelism --max-workers 2
  npx vitest run test/e2e
fi
