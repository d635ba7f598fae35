#!/usr/bin/env bash
# Installs everything vmstack's test suite needs on a fresh Debian 12 machine (run as root),
# then installs vmstack itself with its test extras. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${VMSTACK_CACHE:-$HOME/.cache/vmstack}"
export DEBIAN_FRONTEND=noninteractive

# Toolchains and oracles: clang + wasi-libc build the guests for wasm32-wasi, wabt is a second
# opinion on binaries, dpkg-dev unpacks Debian source packages.
PACKAGES=(clang lld wasi-libc libclang-rt-14-dev-wasm32 wabt dpkg-dev)
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The WebAssembly spec tests carried in Debian's binaryen source package.
mkdir -p "$CACHE/src"
if ! compgen -G "$CACHE/src/binaryen-*/test/spec" >/dev/null; then
    echo "setup: fetching Debian's binaryen source package (spec tests)"
    if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        cat > /etc/apt/sources.list.d/vmstack-deb-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    apt-get update -qq
    (cd "$CACHE/src" && apt-get source -qq binaryen >/dev/null 2>&1)
fi
echo "setup: spec tests in $(compgen -G "$CACHE/src/binaryen-*/test/spec" | head -1)"

echo "setup: installing vmstack and its test dependencies"
python3 -m pip install -q --disable-pip-version-check -e '.[test]'
echo "setup: done"
