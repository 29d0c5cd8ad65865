# Shared by script/run and script/test: installs what a fresh machine lacks,
# from the package registries only (nothing is downloaded from elsewhere),
# and builds the release.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CARGO_LEPTOS_VERSION=0.3.10
export PATH="$HOME/.cargo/bin:$ROOT/.tools/node_modules/.bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; return 1; fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have_postgres() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 ||
    { [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/initdb" ]; }
}

install_build_tools() {
  local missing=()
  have_postgres || missing+=(postgresql)
  command -v npm >/dev/null || missing+=(nodejs npm)
  command -v cc >/dev/null || missing+=(build-essential)
  command -v mold >/dev/null || missing+=(mold)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing from Debian: ${missing[*]}"
    apt_install "${missing[@]}"
  fi

  if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32 target"
    rustup target add wasm32-unknown-unknown
  fi

  if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$CARGO_LEPTOS_VERSION" ]; then
    # 0.3.11 needs a newer rustc than this machine's; LTO off halves the
    # build time and memory of the install (about 14 minutes on 2 cores).
    say "installing cargo-leptos $CARGO_LEPTOS_VERSION from crates.io (about 14 minutes)"
    CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
  fi

  # wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly.
  local wbg
  wbg="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)"
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg" ]; then
    say "installing wasm-bindgen-cli $wbg from crates.io (about 7 minutes)"
    cargo install wasm-bindgen-cli --version "$wbg"
  fi

  # cargo-leptos runs wasm-opt on release builds and would download it.
  # Debian's binaryen (108) produces wasm that fails to hydrate; npm's 132 works.
  if [ ! -x .tools/node_modules/.bin/wasm-opt ]; then
    say "installing binaryen (wasm-opt) from npm"
    (cd .tools && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Chromium from Debian and Playwright from npm (never a downloaded browser).
install_browser_tools() {
  if ! command -v chromium >/dev/null; then
    say "installing Chromium from Debian"
    apt_install chromium
  fi
  if [ ! -d end2end/node_modules/@playwright/test ]; then
    say "installing Playwright from npm (no browser download)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
  fi
}

build_release() {
  say "building steward (release)"
  # --precompress: the bundle's .br and .gz copies, served to browsers
  # that accept them (server/src/web/assets.rs). --split: each group of
  # pages in a wasm chunk of its own (app/src/lib.rs, page_groups!).
  cargo leptos build --release --precompress --split
}
