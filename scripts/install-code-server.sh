#!/usr/bin/env bash
# Installs code-server (a real VS Code: workbench + Node extension host) into a git-ignored tool
# folder for the extension tests. Idempotent. Offline-safe: the only download @vscode/ripgrep's
# postinstall would make (from GitHub) is served from a cache seeded with Debian's /usr/bin/rg.
# Needs the Debian packages libkrb5-dev and ripgrep (.ci/run installs them).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.100.3            # VS Code 1.100.3; the last line that runs on Node 20
RIPGREP_PACKAGE=1.15.11    # the @vscode/ripgrep that code-server $VERSION pins
RIPGREP_BINARY=v13.0.0-10
TOOL_DIR=test/vscode/.code-server
BIN="$TOOL_DIR/node_modules/.bin/code-server"

if [[ -x "$BIN" ]] && [[ "$(node -p "require('./$TOOL_DIR/node_modules/code-server/package.json').version" 2>/dev/null)" == "$VERSION" ]]; then
  echo "code-server $VERSION already installed in $TOOL_DIR"
  exit 0
fi

rg_path=$(command -v rg || true)
if [[ -z "$rg_path" ]]; then
  echo "install-code-server: ripgrep (rg) is missing: apt-get install ripgrep" >&2
  exit 1
fi
cache_dir="$(node -p "require('os').tmpdir()")/vscode-ripgrep-cache-$RIPGREP_PACKAGE"
tarball="$cache_dir/ripgrep-$RIPGREP_BINARY-x86_64-unknown-linux-musl.tar.gz"
if [[ ! -f "$tarball" ]]; then
  mkdir -p "$cache_dir"
  staging=$(mktemp -d)
  cp "$rg_path" "$staging/rg"
  tar -czf "$tarball" -C "$staging" rg
  rm -rf "$staging"
fi

mkdir -p "$TOOL_DIR"
[[ -f "$TOOL_DIR/package.json" ]] || echo '{ "name": "code-server-tool", "private": true }' > "$TOOL_DIR/package.json"
echo "installing code-server $VERSION into $TOOL_DIR (about a minute)"
npm_config_unsafe_perm=true npm_config_yes=true \
  npm install --prefix "$TOOL_DIR" --no-audit --no-fund --no-save --loglevel=error "code-server@$VERSION"
"$BIN" --version
