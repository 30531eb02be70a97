#!/usr/bin/env bash
# Install the real coding tools, pinned, into .tools/ (git-ignored) for tests/tools/.
# Each tool goes into its own prefix so one failed install cannot break another. The outcome
# of each is written to .tools/status/<tool> ("ok", or the reason it failed), which the tests
# read to SKIP that tool with the reason: a failed install is never a silent pass.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=.tools
mkdir -p "$root/status"

# tool id, npm package@version (versions tested; see README, "Tested in the real tools")
npm_tools=(
  "opencode opencode-ai@1.18.33"
  "kilo @kilocode/cli@7.7.7"        # 7.8.1's linux-x64 platform package is missing on npm
  "continue @continuedev/cli@1.5.47"
  "codex @openai/codex@0.171.0"
  "qwen @qwen-code/qwen-code@0.24.4"
  "claude @anthropic-ai/claude-code@2.1.197"
)
AIDER=aider-chat==0.86.2
# Not installable here, so checked against their schemas in tests/export/test_export_targets.py:
# Crush (@charmland/crush's postinstall downloads the binary from the project's release page,
# outside the registries, so the install fails offline), Goose and Zed (no registry package:
# release downloads and installer scripts only).

record() { printf '%s\n' "$2" >"$root/status/$1"; echo "tools: $1: $2"; }

install_npm() {
  local tool=$1 spec=$2 log="$root/status/$1.log"
  if ! command -v npm >/dev/null 2>&1; then record "$tool" "npm is not installed"; return; fi
  if timeout 300 npm install --prefix "$root/$tool" --no-audit --no-fund --loglevel=error \
      --no-save "$spec" >"$log" 2>&1; then
    record "$tool" ok
  else
    record "$tool" "npm install $spec failed: $(tail -n 3 "$log" | tr '\n' ' ')"
  fi
}

install_aider() {
  local log="$root/status/aider.log" venv="$root/aider-venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >"$log" 2>&1
  if timeout 600 "$venv/bin/pip" install -q "$AIDER" >>"$log" 2>&1; then
    record aider ok
  else
    record aider "pip install $AIDER failed: $(tail -n 3 "$log" | tr '\n' ' ')"
  fi
}

# In parallel: the installs mostly wait on the network; each records its own outcome.
for entry in "${npm_tools[@]}"; do
  # shellcheck disable=SC2086
  install_npm $entry &
done
install_aider &
wait
exit 0
