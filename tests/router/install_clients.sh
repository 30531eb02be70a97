#!/usr/bin/env bash
# The real coding clients the router tests drive: Claude Code and Codex, from npm, into the
# git-ignored project-local prefix .tools/ (nothing global). Offline or without npm this prints
# why and exits 0: the tests that need a client then skip with that reason.
set -uo pipefail
cd "$(dirname "$0")/../.."
prefix=.tools
packages=(@anthropic-ai/claude-code @openai/codex)
if ! command -v npm >/dev/null 2>&1; then
  echo "install_clients: npm is not installed; the real-client router tests will skip"
  exit 0
fi
mkdir -p "$prefix"
# No audit, funding or update notices: only the registry is reachable, and quietly is enough.
if npm install --prefix "$prefix" --no-audit --no-fund --no-update-notifier --loglevel=error \
    "${packages[@]}" >"$prefix/install.log" 2>&1; then
  echo "install_clients: $(ls "$prefix/node_modules/.bin" | tr '\n' ' ')in $prefix/node_modules/.bin"
else
  echo "install_clients: npm install failed (see $prefix/install.log); the real-client tests will skip"
fi
