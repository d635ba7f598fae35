#!/usr/bin/env bash
# Set up a Debian 12 machine for vmstack's tests (run as root, no stdin needed): the Debian packages
# (guest toolchains, wabt), deb-src entries and the source packages the tests and guests use, vmstack
# itself with its test extra, and the prebuilt guests. Idempotent: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
CACHE="${VMSTACK_CACHE:-$HOME/.cache/vmstack}"
PACKAGES=(
    clang lld wasi-libc libclang-rt-14-dev-wasm32  # C to wasm32-wasi
    gcc libc6-dev make                             # native reference builds
    gcc-riscv64-linux-gnu libc6-dev-riscv64-cross  # riscv64 Linux builds
    tcl                                            # tclsh, to make SQLite's amalgamation
    dpkg-dev                                       # apt-get source
    wabt                                           # wat2wasm, wast2json, wasm2wat
    qemu-user                                      # qemu-riscv64: the oracle for riscv64 programs
    # containers: images (umoci, skopeo), the busybox rootfs, peer runtimes and real engines
    busybox-static umoci skopeo runc crun containerd podman conmon
    # system VM (tests/machines): the oracle, firmware, the kernel source and what building it needs
    qemu-system-misc opensbi u-boot-qemu device-tree-compiler
    linux-source-6.1 flex bison bc cpio
)
# binaryen carries the WebAssembly spec tests; sqlite3 and lua5.4 are guests (guests/build.py), and
# so is busybox (built for riscv64 only).
SOURCE_PACKAGES=(binaryen sqlite3 lua5.4 busybox)
# containers (OCI runtime): runc and crun as oracles, runc's integration suite run by bats (it needs
# jq and gawk), busybox-static for test rootfs, libseccomp for seccomp profiles.
PACKAGES+=(runc crun bats jq gawk busybox-static libseccomp2)
# runc carries its integration suite (tests/integration/*.bats) for the containers conformance test.
SOURCE_PACKAGES+=(runc)
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT

step() { printf '[setup] %s\n' "$*"; }

# Run a command quietly; on failure show its output and stop.
quietly() {
    if ! "$@" >"$LOG" 2>&1; then
        cat "$LOG" >&2
        printf '[setup] failed: %s\n' "$*" >&2
        exit 1
    fi
}

# deb-src entries mirroring the machine's Debian deb entries (deb822 or one-line format).
add_deb_src() {
    local own=/etc/apt/sources.list.d/vmstack-deb-src
    if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return
    fi
    step "adding deb-src entries ($own.*)"
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$own.sources"
    else
        grep -hE '^deb [^#]*debian' /etc/apt/sources.list | sed -e 's/^deb /deb-src /' >"$own.list"
    fi
}

missing_packages=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
        missing_packages+=("$package")
done
mkdir -p "$CACHE/src"
missing_sources=()
for package in "${SOURCE_PACKAGES[@]}"; do
    compgen -G "$CACHE/src/$package-[0-9]*/" >/dev/null || missing_sources+=("$package")
done

if ((${#missing_packages[@]} + ${#missing_sources[@]})); then
    add_deb_src
    step "apt-get update"
    quietly apt-get update -q
fi
if ((${#missing_packages[@]})); then
    step "installing Debian packages: ${missing_packages[*]}"
    quietly apt-get install -y -q --no-install-recommends "${missing_packages[@]}"
fi
for package in "${missing_sources[@]}"; do
    step "fetching the Debian source package $package into $CACHE/src"
    (cd "$CACHE/src" && quietly apt-get source -q "$package")
done
step "WebAssembly spec tests: $(compgen -G "$CACHE/src/binaryen-*/test/spec" | tail -n 1)"

step "pip install -e '.[test]'"
PIP_OPTIONS=(--disable-pip-version-check)
if ! python3 -m pip --version >/dev/null 2>&1; then
    quietly apt-get install -y -q --no-install-recommends python3-pip
fi
# Debian's own python3 refuses pip installs (PEP 668) unless told; this machine is set up for vmstack.
if python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(
        os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))'; then
    PIP_OPTIONS+=(--break-system-packages)
fi
quietly python3 -m pip install "${PIP_OPTIONS[@]}" -e '.[test]'
# containers: vmstack-runc as a launcher running Python isolated and without site (-IS), over pip's
# console script (site's .pth files cost more than a whole `vmstack-runc start`)
launcher="$(python3 -m vmstack.containers.launcher)"
step "vmstack-runc launcher: $launcher"

step "building the guests (cached in $CACHE/guests)"
python3 guests/build.py >"$LOG" || { cat "$LOG"; exit 1; }
step "guests built: $(wc -l <"$LOG") programs"
# system VM (tests/machines): the bare-metal test programs, the small Linux kernel and its initramfs
step "building the system-VM guests (cached in $CACHE/baremetal and $CACHE/kernel; the kernel takes minutes once)"
python3 guests/baremetal/build.py >"$LOG" || { cat "$LOG"; exit 1; }
python3 guests/kernel/build.py --jobs 2 >"$LOG" || { cat "$LOG"; exit 1; }
step "done"
