#!/usr/bin/env bash
# The .deb on systems that have nothing but a minimal Debian: proves that its Depends name every
# library the bundle needs (on the build machine they are all there anyway). As root:
#   installers/linux/test-clean-system.sh dist/photosearch_<version>_<arch>.deb [SUITE ...]
# For each suite (default: bookworm trixie, i.e. Debian 12 and 13, before and after the 64-bit
# time_t renames), debootstrap a minimal system, let apt-get install the package and what it
# declares, then with an empty environment: --version, selftest (nothing on stderr), the demo
# library, the window's scripted search offscreen and as a real X11 window under Xvfb (first
# results right), every bundled library found by ldd; then purge it. Needs debootstrap and
# Debian's mirror (DEBIAN_MIRROR; DEBIAN_COMPONENTS, default main); exits 3 when the mirror
# cannot be reached. The suites run side by side (mostly waiting on the network and the disk),
# each in its own folder with its own log. Ubuntu: DEBIAN_MIRROR=http://archive.ubuntu.com/ubuntu
# DEBIAN_COMPONENTS=main,universe ... jammy noble.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 dist/photosearch_<version>_<arch>.deb [SUITE ...]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "test-clean-system.sh: run as root (debootstrap, chroot)" >&2; exit 2; }
deb=$(realpath "$1")
shift
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(bookworm trixie)
cd "$(dirname "$0")/../.."
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
components=${DEBIAN_COMPONENTS:-main}
export DEBIAN_FRONTEND=noninteractive
command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null

systems=$PWD/build/clean-systems
mkdir -p "$systems"
# A chroot folder is removed only with nothing mounted inside it (never the host's /dev), and
# never across a file system boundary.
remove_system() {
    if grep -q " ${1%/}/" /proc/mounts; then
        echo "test-clean-system.sh: something is still mounted under $1; not removing it" >&2
        exit 1
    fi
    rm -rf --one-file-system "${1:?}"
}

# One suite, start to end (run in a subshell of its own: `fail` and `exit` end this suite only).
prove() {
    local suite=$1
    local root=$systems/$suite
    fail() { printf 'test-clean-system.sh (%s): FAIL: %s\n' "$suite" "$*" >&2; exit 1; }
    inside() { chroot "$root" env -i HOME=/tmp/home LANG=C.UTF-8 PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
    unmount() { umount -lR "$root/proc" "$root/sys" "$root/dev" 2>/dev/null || true; }
    trap unmount EXIT
    [ ! -e "$root" ] || remove_system "$root"
    local started
    started=$(date +%s)
    if ! debootstrap --variant=minbase --components="$components" "$suite" "$root" "$mirror" >"$systems/$suite.log" 2>&1; then
        echo "test-clean-system.sh: debootstrap $suite from $mirror failed (see $systems/$suite.log)" >&2
        exit 3
    fi
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    mount -t proc proc "$root/proc"
    mount -t sysfs sys "$root/sys"
    mount --rbind /dev "$root/dev"
    cp "$deb" "$root/tmp/package.deb"
    inside sh -c 'apt-get update -qq && apt-get install -y -qq /tmp/package.deb xvfb xauth' >>"$systems/$suite.log" 2>&1 ||
        fail "apt-get install (see $systems/$suite.log)"
    inside mkdir -p /tmp/home
    inside photosearch --version | grep -q "^photosearch " || fail "--version"
    inside photosearch selftest >"$systems/$suite.selftest" 2>"$systems/$suite.selftest.err" || fail "selftest: $(tail -3 "$systems/$suite.selftest")"
    [ ! -s "$systems/$suite.selftest.err" ] || fail "selftest wrote to stderr: $(cat "$systems/$suite.selftest.err")"
    inside photosearch demo >/dev/null 2>&1 || fail "demo"
    local script=(photosearch gui --library /tmp/home/Pictures/photosearch-demo/.photosearch --query "a red circle" --quit-after-results)
    inside env QT_QPA_PLATFORM=offscreen "${script[@]}" --screenshot /tmp/home/offscreen.png 2>/dev/null | tail -1 >"$systems/$suite.offscreen.json" ||
        fail "window offscreen"
    inside xvfb-run -a -s "-screen 0 1280x900x24" "${script[@]}" --screenshot /tmp/home/x11.png 2>"$systems/$suite.x11.err" | tail -1 >"$systems/$suite.x11.json" ||
        fail "window under Xvfb: $(tail -3 "$systems/$suite.x11.err")"
    for report in offscreen x11; do
        python3 -c 'import json, sys; names = json.load(open(sys.argv[1]))["results"][:3]; assert all("red-circle" in n or n.endswith("beach.mp4") for n in names), names' \
            "$systems/$suite.$report.json" || fail "window ($report): the first results are not the red circles"
    done
    local missing
    # searched as the app's launcher searches (LD_LIBRARY_PATH on its library folder): some
    # wheels' libraries find their neighbours only through it or their loader's RPATH
    # shellcheck disable=SC2016 # expanded by the shell inside the chroot
    missing=$(inside sh -c 'export LD_LIBRARY_PATH=/opt/photosearch/_internal; find /opt/photosearch -type f -name "*.so*" | while read -r f; do ldd "$f" 2>/dev/null | grep "not found" | sed "s|^|$f: |"; done')
    [ -z "$missing" ] || fail "libraries not found: $missing"
    inside apt-get purge -y -qq photosearch >>"$systems/$suite.log" 2>&1 || fail "purge"
    if [ -e "$root/opt/photosearch" ] || [ -e "$root/usr/bin/photosearch" ]; then fail "left on disk after purge"; fi
    echo "test-clean-system.sh: $suite: passed in $(($(date +%s) - started)) s ($(du -smx "$root" | cut -f1) MB system)"
    unmount
    remove_system "$root"
}

pids=()
for suite in "${suites[@]}"; do
    prove "$suite" &
    pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
    wait "$pid" || { code=$?; [ "$status" = 1 ] || status=$code; }  # a failure outranks an unreachable mirror
done
exit "$status"
