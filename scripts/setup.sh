# Sourced by scripts/test and scripts/demo: makes a fresh Debian 12 machine able to build Keel.
# Installs only what is missing; prints what it does; fails loudly.
set -euo pipefail

keel_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export KEEL_ROOT="$keel_root"
# Real market data lives beside the checkout (../shared/data); tests that need it find it through this variable.
export KEEL_DATA_DIR="${KEEL_DATA_DIR:-$keel_root/../shared/data}"

keel_need_apt=()
for pkg in build-essential pkg-config libssl-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || keel_need_apt+=("$pkg")
done
if [ ${#keel_need_apt[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${keel_need_apt[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${keel_need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found. Install Rust 1.95 with rustup (https://rustup.rs) and re-run." >&2
  exit 1
fi
rustc_minor="$(rustc --version | sed -E 's/^rustc 1\.([0-9]+).*/\1/')"
if [ "${rustc_minor:-0}" -lt 95 ]; then
  echo "setup: rustc $(rustc --version) is too old; Keel needs 1.95 or newer." >&2
  exit 1
fi
for comp in rustfmt clippy; do
  if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
    echo "setup: adding rustup component $comp"
    rustup component add "$comp"
  fi
done
