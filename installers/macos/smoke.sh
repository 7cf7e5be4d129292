#!/usr/bin/env bash
# The installed-app smoke test on macOS: attach the .dmg, run the app inside it, detach.
#   installers/macos/smoke.sh dist/photosearch-<version>-arm64.dmg
set -euo pipefail
dmg=$1
mount=$(mktemp -d /tmp/photosearch-dmg.XXXXXX)
hdiutil attach "$dmg" -nobrowse -readonly -mountpoint "$mount" >/dev/null
trap 'hdiutil detach "$mount" >/dev/null || true' EXIT
if [ "${EXPECT_NOTARISED:-0}" = 1 ]; then
    # what Gatekeeper decides for a user who downloads it: the image, then the app inside
    spctl --assess --type open --context context:primary-signature --verbose=2 "$dmg"
    spctl --assess --type execute --verbose=2 "$mount/photosearch.app"
fi
app="$mount/photosearch.app/Contents/MacOS/photosearch"
home=$(mktemp -d)
clean() { env -i HOME="$home" LANG=C.UTF-8 PATH=/usr/bin:/bin "$@"; }
clean "$app" --version
clean "$app" selftest
clean "$app" demo >/dev/null
clean QT_QPA_PLATFORM=offscreen "$app" gui --library "$home/Pictures/photosearch-demo/.photosearch" \
    --query "a red circle" --screenshot "$home/shot.png" --quit-after-results | tail -1 | tee "$home/report.json"
grep -q 'red-circle' "$home/report.json"  # the demo's red-circle photos lead (its video may be among them)
[ -s "$home/shot.png" ]
echo "installers/macos/smoke.sh: passed"
