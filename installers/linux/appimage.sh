#!/usr/bin/env bash
# An AppImage from the same frozen folder, for distributions without dpkg (release workflow).
#   APPIMAGETOOL=/path/to/appimagetool installers/linux/appimage.sh
# Unlike the .deb, the folder keeps the libraries PyInstaller found on the build machine (an
# AppImage cannot declare dependencies); build on the oldest distribution you support: the
# release builds on Ubuntu 22.04, so it runs where glibc is 2.35 or newer, and proves it on
# several such distributions (.github/workflows/release.yml, appimage-distributions).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
: "${APPIMAGETOOL:?set APPIMAGETOOL to appimagetool (no registry here carries it)}"
$PYTHON installers/freeze.py ${TORCH_INDEX:+--torch-index "$TORCH_INDEX"}
VERSION=$($PYTHON installers/bundle_contents.py)
appdir=build/AppDir
rm -rf "$appdir"
mkdir -p "$appdir"
cp -a build/pyinstaller/dist/photosearch "$appdir/photosearch"
cp installers/linux/photosearch.desktop "$appdir/photosearch.desktop"
cp photosearch/resources/icons/photosearch.svg "$appdir/photosearch.svg"
cat > "$appdir/AppRun" <<'RUN'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
if [ -z "${LC_ALL:-}${LC_CTYPE:-}${LANG:-}" ]; then LANG=C.UTF-8; export LANG; fi
exec "$here/photosearch/photosearch" "$@"
RUN
chmod +x "$appdir/AppRun"
mkdir -p dist
ARCH=x86_64 "$APPIMAGETOOL" --no-appstream "$appdir" "dist/photosearch-${VERSION}-x86_64.AppImage"
echo "appimage.sh: dist/photosearch-${VERSION}-x86_64.AppImage ($(du -m "dist/photosearch-${VERSION}-x86_64.AppImage" | cut -f1) MB)"
