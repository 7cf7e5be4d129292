#!/usr/bin/env bash
# macOS (Apple silicon): dist/photosearch-<version>-arm64.dmg holding photosearch.app.
#   installers/macos/build.sh
# PyPI's torch for Intel Macs stopped at 2.2, so this builds for arm64 only.
# Signing and notarisation run when their settings are present (the release workflow takes
# them from secrets); without them the app is ad-hoc signed and Gatekeeper asks once:
#   MACOS_SIGN_IDENTITY  "Developer ID Application: Name (TEAMID)", in the keychain searched
#   NOTARY_PROFILE       a profile stored with `xcrun notarytool store-credentials`
#   REQUIRE_SIGNING=1    fail instead of signing ad hoc when no identity is given (the release
#                        workflow sets it when it has a certificate: an empty identity is an error)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(uname -s)" = Darwin ] || { echo "installers/macos/build.sh: run on macOS" >&2; exit 2; }
[ "$(uname -m)" = arm64 ] || { echo "installers/macos/build.sh: Apple silicon only (no current torch for Intel Macs)" >&2; exit 2; }
PYTHON=${PYTHON:-python3}
$PYTHON installers/freeze.py
VERSION=$($PYTHON installers/bundle_contents.py)
app=build/pyinstaller/dist/photosearch.app
entitlements=installers/macos/entitlements.plist

# The app says which macOS it needs (LSMinimumSystemVersion); no binary inside may need a newer one.
minimum=$(/usr/libexec/PlistBuddy -c "Print :LSMinimumSystemVersion" "$app/Contents/Info.plist")
newer=$(find "$app/Contents" -type f \( -name '*.so' -o -name '*.dylib' -o -perm -u+x \) -print0 |
    while IFS= read -r -d '' file; do
        file "$file" | grep -q Mach-O || continue
        needs=$(otool -l "$file" | awk '/LC_BUILD_VERSION/ {b=1} b && $1 == "minos" {print $2; exit}')
        [ -n "$needs" ] || continue
        if [ "$(printf '%s\n%s\n' "$needs" "$minimum" | sort -V | tail -1)" != "$minimum" ]; then echo "$needs $file"; fi
    done)
[ -z "$newer" ] || { echo "installers/macos/build.sh: these need a newer macOS than $minimum:" >&2; echo "$newer" >&2; exit 1; }

if [ -z "${MACOS_SIGN_IDENTITY:-}" ] && [ "${REQUIRE_SIGNING:-0}" = 1 ]; then
    echo "installers/macos/build.sh: REQUIRE_SIGNING=1 but no MACOS_SIGN_IDENTITY (was the certificate imported?)" >&2
    exit 1
fi

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    # Inside out: every library and executable first, then the app (notarisation rejects
    # anything unsigned or signed without the hardened runtime and a timestamp).
    sign() { codesign --force --timestamp --options runtime --entitlements "$entitlements" --sign "$MACOS_SIGN_IDENTITY" "$@"; }
    find "$app/Contents" -type f \( -name '*.so' -o -name '*.dylib' -o -perm -u+x \) -print0 |
        while IFS= read -r -d '' file; do
            if file "$file" | grep -q Mach-O; then sign "$file"; fi
        done
    sign "$app"
    codesign --verify --deep --strict --verbose=2 "$app"
else
    codesign --force --deep --sign - "$app"
fi

staging=build/dmg
rm -rf "$staging"
mkdir -p "$staging" dist
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"
dmg="dist/photosearch-${VERSION}-arm64.dmg"
rm -f "$dmg"
hdiutil create -volname "photosearch $VERSION" -srcfolder "$staging" -format UDBZ -ov "$dmg"

if [ -n "${MACOS_SIGN_IDENTITY:-}" ]; then
    codesign --force --timestamp --sign "$MACOS_SIGN_IDENTITY" "$dmg"
fi
if [ -n "${NOTARY_PROFILE:-}" ]; then
    # --wait returns 0 for any verdict: only "Accepted" is one, anything else fails with Apple's log
    verdict=$(xcrun notarytool submit "$dmg" --keychain-profile "$NOTARY_PROFILE" --wait --output-format json)
    status=$(printf '%s' "$verdict" | $PYTHON -c 'import json, sys; print(json.load(sys.stdin).get("status", ""))')
    if [ "$status" != "Accepted" ]; then
        submission=$(printf '%s' "$verdict" | $PYTHON -c 'import json, sys; print(json.load(sys.stdin).get("id", ""))')
        [ -z "$submission" ] || xcrun notarytool log "$submission" --keychain-profile "$NOTARY_PROFILE" >&2 || true
        echo "installers/macos/build.sh: notarisation said \"$status\", not Accepted" >&2
        exit 1
    fi
    xcrun stapler staple "$dmg"
    xcrun stapler validate "$dmg"
fi
echo "installers/macos/build.sh: $dmg ($(du -m "$dmg" | cut -f1) MB)"
