#!/usr/bin/env bash
# The proof of a .deb on this machine, as root (it installs into the system, then removes):
#   installers/linux/test.sh dist/photosearch_<version>_<arch>.deb
# With an empty environment (env -i, a fresh HOME, LANG=C.UTF-8, a system PATH): --version,
# selftest, the demo library, the window's scripted search offscreen and under Xvfb (first
# results right, a real screenshot, nothing unexpected on stderr), ldd of the Qt platform
# plugins; then purge: nothing the package installed (dpkg -L), nor its entries in the desktop
# database and the icon cache, is left, and the user's data under the fresh HOME is untouched.
# It checks only what is its own: other photosearch processes and files on the machine (a test
# run, a user's library) can neither fail it nor be touched by it. Its folder goes on exit.
# Writes its figures to $REPORT (default build/deb-test/report.json).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 dist/photosearch_<version>_<arch>.deb" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (it installs the package with apt-get)" >&2; exit 2; }
deb=$(realpath "$1")
cd "$(dirname "$0")/../.."
checkout=$PWD
work=$(mktemp -d /tmp/photosearch-deb-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
REPORT=${REPORT:-$checkout/build/deb-test/report.json}
mkdir -p "$(dirname "$REPORT")" "$work/home" "$work/tmp"
version=$(dpkg-deb -f "$deb" Version)
package=$(dpkg-deb -f "$deb" Package)
export DEBIAN_FRONTEND=noninteractive
QUERY="a red circle"
EXPECT="red-circle"
ALLOWED_STDERR="propagateSizeHints"  # the offscreen platform's one remark on show()

say() { printf '== %s\n' "$*"; }
fail() { printf 'test.sh: FAIL: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }
# The app as a user starts it from a launcher: nothing inherited from this shell or the checkout.
clean() { env -i HOME="$work/home" TMPDIR="$work/tmp" LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
figures=()
figure() { figures+=("\"$1\": $2"); }

# apt-get install, refreshing the package lists once when something must be downloaded first.
apt_install() {
    apt-get install -y -qq "$@" >>"$work/apt.log" 2>&1 && return 0
    apt-get update -qq >>"$work/apt.log" 2>&1 || true
    apt-get install -y -qq "$@" >>"$work/apt.log" 2>&1
}

install_window_tools() {
    local missing=()
    for tool in xvfb xauth; do
        dpkg-query -W -f='${Status}' "$tool" 2>/dev/null | grep -q "install ok installed" || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] || apt_install --no-install-recommends "${missing[@]}" || fail "apt-get install ${missing[*]}"
}

# The scripted window: $1 = name, then the environment to add. Checks the JSON line and stderr.
window() {
    local name=$1
    shift
    local started
    started=$(now_ms)
    set +e
    "$@" photosearch gui --library "$work/home/Pictures/photosearch-demo/.photosearch" --query "$QUERY" \
        --screenshot "$work/$name.png" --quit-after-results >"$work/$name.out" 2>"$work/$name.err"
    local code=$?
    set -e
    local finished
    finished=$(now_ms)
    [ $code -eq 0 ] || fail "window ($name) exited $code: $(tail -3 "$work/$name.err")"
    if [ ! -s "$work/$name.png" ] || [ "$(stat -c %s "$work/$name.png")" -le 10000 ]; then fail "window ($name): no real screenshot"; fi
    if grep -v -e "$ALLOWED_STDERR" -e '^$' "$work/$name.err"; then fail "window ($name): unexpected stderr (above)"; fi
    python3 - "$work/$name.out" "$EXPECT" "$started" "$name" <<'PY' >>"$work/window-figures"
import json, sys
from pathlib import Path
report = json.loads(Path(sys.argv[1]).read_text().strip().splitlines()[-1])
names = [Path(p).name for p in report["results"][:3]]
# the demo's red-circle photos, and its video whose last scene is a red circle
assert all(sys.argv[2] in n or n == "beach.mp4" for n in names), f"first results are not {sys.argv[2]}: {names}"
assert report["thumbnails_painted"] > 0, report
shown = report["window_shown_at_ms"] - int(sys.argv[3])
print(f'"{sys.argv[4]}_window_shown_ms": {shown}, "{sys.argv[4]}_first_results_ms": {report["first_results_ms"]}, '
      f'"{sys.argv[4]}_first_results": {json.dumps(names)},')
PY
    cp "$work/$name.png" "$(dirname "$REPORT")/$name.png"
    say "window ($name): ok in $((finished - started)) ms; $(tail -1 "$work/window-figures")"
}

# What the package itself put on the system, and the user's own data: the purge is judged on
# these alone, never on the rest of the disk.
desktop_entry=/usr/share/applications/$package.desktop
mentions_the_app() {  # the desktop database and the icon cache: what the package's triggers wrote
    for cache in /usr/share/applications/mimeinfo.cache /usr/share/icons/hicolor/icon-theme.cache; do
        [ ! -f "$cache" ] || ! grep -qa "$package" "$cache" || echo "$cache"
    done
}
user_data() { (cd "$work/home" && find . -path ./.cache -prune -o -printf '%p %s %T@\n' | sort); }

say "package $package $version: $(du -m "$deb" | cut -f1) MB"
if dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    apt-get purge -y -qq "$package" >/dev/null
fi
install_window_tools
[ -z "$(mentions_the_app)" ] || fail "the desktop database or icon cache names $package before it is installed"
apt_install "$deb" || { cat "$work/apt.log"; fail "apt-get install"; }
[ "$(dpkg-query -W -f='${Status}' "$package")" = "install ok installed" ] || fail "not configured after install"
dpkg -L "$package" >"$work/installed.txt"
grep -qx /opt/photosearch/photosearch "$work/installed.txt" || fail "dpkg -L does not list the app"
figure installed_kib "$(dpkg-query -W -f='${Installed-Size}' "$package")"
figure deb_bytes "$(stat -c %s "$deb")"

say "no GPL library inside: the app is MIT, its libraries LGPL at most (decoders only)"
python3 installers/check_bundle.py --copyleft-only /opt/photosearch || fail "copyleft in the package (above)"

say "--version"
started=$(now_ms)
out=$(clean photosearch --version 2>"$work/version.err")
figure version_ms $(($(now_ms) - started))
[ "$out" = "photosearch $version" ] || fail "--version said '$out'"
[ ! -s "$work/version.err" ] || fail "--version wrote to stderr: $(cat "$work/version.err")"

say "selftest"
started=$(now_ms)
clean photosearch selftest >"$work/selftest.out" 2>"$work/selftest.err" || { cat "$work/selftest.out" "$work/selftest.err"; fail "selftest"; }
figure selftest_ms $(($(now_ms) - started))
[ ! -s "$work/selftest.err" ] || { cat "$work/selftest.err"; fail "selftest wrote to stderr"; }

say "demo library (generated, indexed by the installed app)"
started=$(now_ms)
clean photosearch demo >"$work/demo.out" 2>"$work/demo.err" || { tail "$work/demo.out" "$work/demo.err"; fail "demo"; }
figure demo_ms $(($(now_ms) - started))

say "an AV1 video (dav1d, inside our FFmpeg) indexed and found by the installed app"
# installers/linux/av1-red-circle.mp4: 2 s of a red circle at 320x240, made once with the
# development environment's PyAV (its SVT-AV1 encoder; the installed app has none)
mkdir -p "$work/av1"
cp installers/linux/av1-red-circle.mp4 "$work/av1/clip.mp4"
av1=(photosearch --library "$work/av1-library" --model tiny-shapes)
clean "${av1[@]}" index "$work/av1" >"$work/av1.out" 2>&1 || { cat "$work/av1.out"; fail "indexing an AV1 video"; }
grep -q "indexed 1, skipped 0" "$work/av1.out" || { cat "$work/av1.out"; fail "the AV1 video was not indexed"; }
clean "${av1[@]}" search "a red circle" --json >"$work/av1.json" 2>/dev/null || fail "searching the AV1 video"
python3 -c 'import json, sys; hit = json.load(open(sys.argv[1]))[0]; assert hit["kind"] == "video" and hit["path"].endswith("clip.mp4"), hit' \
    "$work/av1.json" || fail "the AV1 video is not found"

say "Qt platform plugins: every library found"
for plugin in /opt/photosearch/_internal/PySide6/Qt/plugins/platforms/*.so; do
    if ldd "$plugin" | grep "not found"; then fail "ldd $plugin: libraries not found (above)"; fi
done

window offscreen clean QT_QPA_PLATFORM=offscreen
# shellcheck disable=SC2016 # expanded by the inner shell, which xvfb-run gives DISPLAY and XAUTHORITY
window xvfb xvfb-run -a -s "-screen 0 1280x900x24" sh -c \
    'exec env -i HOME="$0" LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin DISPLAY="$DISPLAY" XAUTHORITY="$XAUTHORITY" "$@"' "$work/home"
# A Wayland session (its variables; Xvfb stands in for XWayland): the app ships X11's platform
# plugin only, and must open there without Qt's warning about the missing Wayland one.
# shellcheck disable=SC2016 # expanded by the inner shell, which xvfb-run gives DISPLAY and XAUTHORITY
window wayland-session xvfb-run -a -s "-screen 0 1280x900x24" sh -c \
    'exec env -i HOME="$0" LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin DISPLAY="$DISPLAY" XAUTHORITY="$XAUTHORITY" \
        XDG_SESSION_TYPE=wayland WAYLAND_DISPLAY=wayland-photosearch-test "$@"' "$work/home"

say "Open with: the desktop offers the app for photos, and a photo opened with it finds itself first"
if command -v update-desktop-database >/dev/null; then
    grep -q '^image/jpeg=.*photosearch.desktop' /usr/share/applications/mimeinfo.cache || fail "not offered for image/jpeg"
fi
photo=$(find "$work/home/Pictures/photosearch-demo" -name "*red-circle.jpg" | sort | head -1)
clean QT_QPA_PLATFORM=offscreen photosearch gui --library "$work/home/Pictures/photosearch-demo/.photosearch" \
    --quit-after-results "$photo" >"$work/open-with.out" 2>"$work/open-with.err" || fail "open with: $(tail -3 "$work/open-with.err")"
python3 -c 'import json, sys; r = json.loads(open(sys.argv[1]).read().splitlines()[-1]); assert r["results"][0] == sys.argv[2], r["results"][:3]' \
    "$work/open-with.out" "$photo" || fail "open with: the opened photo is not the first result"

say "a photo opened from the app reaches the viewer with the user's environment, not the bundle's"
# A stand-in for the desktop's opener records what it inherits (Qt starts xdg-open with no
# desktop to ask); the user's own LD_LIBRARY_PATH must come through as it was, and nothing may
# point the viewer at the bundle's Qt, glib or libstdc++.
viewer="$work/viewer"
mkdir -p "$viewer"
printf '#!/bin/sh\nenv >"%s/env.tmp" && mv "%s/env.tmp" "%s/env"\n' "$viewer" "$viewer" "$viewer" >"$viewer/xdg-open"
chmod +x "$viewer/xdg-open"
# (a real X11 window: Qt's offscreen platform has no desktop services to open anything with)
# shellcheck disable=SC2016 # expanded by the inner shell, which xvfb-run gives DISPLAY and XAUTHORITY
xvfb-run -a -s "-screen 0 1280x900x24" sh -c \
    'exec env -i HOME="$0" LANG=C.UTF-8 PATH="$1:/usr/local/bin:/usr/bin:/bin" LD_LIBRARY_PATH=/home/user/own-libs \
        DISPLAY="$DISPLAY" XAUTHORITY="$XAUTHORITY" photosearch gui --library "$2" --query "$3" --quit-after-results --open-first' \
    "$work/home" "$viewer" "$work/home/Pictures/photosearch-demo/.photosearch" "$QUERY" \
    >"$work/open.out" 2>"$work/open.err" || fail "open from the app: $(tail -3 "$work/open.err")"
for _ in $(seq 50); do [ -s "$viewer/env" ] && break; sleep 0.1; done
[ -s "$viewer/env" ] || fail "open from the app: the viewer was never started"
inherited=$(grep -E '^(LD_LIBRARY_PATH|LD_LIBRARY_PATH_ORIG|DYLD_LIBRARY_PATH|QT_PLUGIN_PATH|QML2_IMPORT_PATH)=' "$viewer/env" || true)
[ "$inherited" = "LD_LIBRARY_PATH=/home/user/own-libs" ] || fail "open from the app: the viewer inherited $(echo "$inherited" | tr '\n' ' ')"

say "uninstall (purge)"
user_data >"$work/user-data-before.txt"
apt-get purge -y -qq "$package" >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "purge"; }
if grep -i "not empty so not removed\|warning" "$work/purge.log"; then fail "purge warned (above)"; fi
# Every path the package installed is gone, but folders other packages share (/usr/share …).
left=$(while read -r path; do
    if [ -L "$path" ] || [ -f "$path" ]; then echo "$path"; fi
    if [ -d "$path" ] && [[ "$path" == *photosearch* ]]; then echo "$path"; fi
done <"$work/installed.txt")
[ -z "$left" ] || fail "left on disk after purge: $left"
for path in /opt/photosearch /usr/bin/photosearch "$desktop_entry"; do
    [ ! -e "$path" ] || fail "left on disk after purge: $path"
done
stale=$(mentions_the_app)
[ -z "$stale" ] || fail "still names $package after purge: $stale"
[ -d "$work/home/Pictures/photosearch-demo/.photosearch" ] || fail "the user's own data went with the package"
user_data >"$work/user-data-after.txt"
diff "$work/user-data-before.txt" "$work/user-data-after.txt" >&2 || fail "the purge changed the user's data (above)"

{
    echo "{"
    cat "$work/window-figures"
    (IFS=,; echo "${figures[*]}")
    echo "}"
} >"$REPORT"
say "all passed; figures in $REPORT"
cat "$REPORT"
