#!/usr/bin/env bash
# macOS (Apple silicon): dist/photosearch-<version>-arm64.dmg holding photosearch.app.
#   installers/macos/build.sh
# PyPI's torch for Intel Macs stopped at 2.2, so this builds for arm64 only.
# Signing and notarisation run when their settings are present (the release workflow takes
# them from secrets); without them the app is ad-hoc signed and Gatekeeper asks once:
#   MACOS_SIGN_IDENTITY  "Developer ID Application: Name (TEAMID)", in the login keychain
#   NOTARY_PROFILE       a profile stored with `xcrun notarytool store-credentials`
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(uname -s)" = Darwin ] || { echo "installers/macos/build.sh: run on macOS" >&2; exit 2; }
[ "$(uname -m)" = arm64 ] || { echo "installers/macos/build.sh: Apple silicon only (no current torch for Intel Macs)" >&2; exit 2; }
PYTHON=${PYTHON:-python3}
$PYTHON installers/freeze.py
VERSION=$($PYTHON installers/bundle_contents.py)
app=build/pyinstaller/dist/photosearch.app
entitlements=installers/macos/entitlements.plist

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
    xcrun notarytool submit "$dmg" --keychain-profile "$NOTARY_PROFILE" --wait
    xcrun stapler staple "$dmg"
fi
echo "installers/macos/build.sh: $dmg ($(du -m "$dmg" | cut -f1) MB)"
