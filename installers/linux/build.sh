#!/usr/bin/env bash
# Build dist/photosearch_<version>_<arch>.deb from a clean checkout:
#   installers/linux/build.sh
# It freezes the app in a build environment of its own (installers/freeze.py; the first run
# downloads and compiles for several minutes), leaves the system's own libraries out of the
# bundle, declares them as package dependencies (dpkg-shlibdeps), and packs /opt/photosearch,
# /usr/bin/photosearch, the desktop entry and the icon.
# Environment: PYTHON (default python3; 3.11), TORCH_INDEX (a package index with torch's CPU
# build, for machines without it on disk), DEB_COMPRESSION (xz, the default, or zstd/gzip/none)
# DEB_LEVEL (default 6; 1 for quick local builds) and REUSE_BUNDLE=1 (pack the last frozen
# folder again, when only the packaging changed).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
COMPRESSION=${DEB_COMPRESSION:-xz}
LEVEL=${DEB_LEVEL:-6}

installers/linux/build-deps.sh
started=$(date +%s)
if [ "${REUSE_BUNDLE:-0}" = 1 ] && [ -x build/pyinstaller/dist/photosearch/photosearch ]; then
    echo "build.sh: packing the existing bundle (REUSE_BUNDLE=1)"
else
    $PYTHON installers/freeze.py --system-libs ${TORCH_INDEX:+--torch-index "$TORCH_INDEX"}
fi

VERSION=$($PYTHON installers/bundle_contents.py)
ARCH=$(dpkg --print-architecture)
BUNDLE=build/pyinstaller/dist/photosearch
STAGE=build/deb/root
rm -rf build/deb
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" "$STAGE/usr/share/metainfo" \
    "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/doc/photosearch"
cp -a "$BUNDLE" "$STAGE/opt/photosearch"
install -m 755 installers/linux/photosearch.sh "$STAGE/usr/bin/photosearch"
install -m 644 installers/linux/photosearch.desktop "$STAGE/usr/share/applications/photosearch.desktop"
install -m 644 installers/linux/org.photosearch.photosearch.metainfo.xml "$STAGE/usr/share/metainfo/"
install -m 644 photosearch/resources/icons/photosearch.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/photosearch.svg"
licences=/opt/photosearch/_internal/photosearch/resources/licenses
{
    echo "photosearch: copyright the photosearch authors, MIT licence (below)."
    echo "Third-party components, their licences and full texts: $licences/"
    echo "THIRD_PARTY_NOTICES.md and THIRD_PARTY_LICENSES.txt (also in the app's About box)."
    echo
    cat LICENSE 2>/dev/null || echo "MIT License"
} > "$STAGE/usr/share/doc/photosearch/copyright"
desktop-file-validate "$STAGE/usr/share/applications/photosearch.desktop"

# Dependencies: the system libraries the bundle links (left out of it), with the versions
# this build needs, as Debian computes them from the binaries' symbols.
shlibs=build/deb/shlibs
mkdir -p "$shlibs/debian"
printf 'Source: photosearch\n\nPackage: photosearch\nArchitecture: any\n' > "$shlibs/debian/control"
mapfile -t elves < <(find "$PWD/$STAGE/opt/photosearch" -type f \( -name '*.so' -o -name '*.so.*' -o -name photosearch \) -exec sh -c 'head -c4 "$1" | grep -q ELF && echo "$1"' _ {} \;)
mapfile -t folders < <(printf '%s\n' "${elves[@]}" | xargs -n1 dirname | sort -u)
depends=$(cd "$shlibs" && dpkg-shlibdeps -O --ignore-missing-info "${folders[@]/#/-l}" "${elves[@]}" 2>../shlibdeps.log \
    | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build.sh: dpkg-shlibdeps found no dependencies (see build/deb/shlibdeps.log)" >&2; exit 1; }

installed_kib=$(du -sk --apparent-size "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<CONTROL
Package: photosearch
Version: $VERSION
Architecture: $ARCH
Maintainer: photosearch developers <photosearch@users.noreply.github.com>
Installed-Size: $installed_kib
Depends: $depends
Recommends: xdg-utils, fonts-dejavu-core | fonts-freefont-ttf
Section: graphics
Priority: optional
Homepage: https://github.com/photosearch/photosearch
Description: search your photo library by meaning
 Type what you remember ("dog on a beach at sunset") or drop a photo to find
 others like it. A background worker watches your photo folders and indexes
 new and changed photos with a CLIP model into an on-disk vector index.
 This package bundles its own Python, PyTorch (CPU), ONNX Runtime and Qt.
CONTROL

# Packed by hand rather than by dpkg-deb, for one reason: dpkg-deb puts the ./opt directory
# itself in the package, so dpkg would own /opt and try to remove it on purge ("directory
# '/opt' not empty so not removed"). The archive is the same format: debian-binary, then the
# control and data archives in an ar file. preinst makes /opt on the rare system without one.
printf '#!/bin/sh\nset -e\n[ -d /opt ] || mkdir -p /opt\n' > "$STAGE/DEBIAN/preinst"
chmod 755 "$STAGE/DEBIAN/preinst"
(cd "$STAGE" && find opt/photosearch usr -type f -print0 | sort -z | xargs -0 md5sum) > "$STAGE/DEBIAN/md5sums"
case "$COMPRESSION" in
    xz) compress=(xz -T0 "-$LEVEL") suffix=.xz ;;
    zstd) compress=(zstd -q -T0 "-$LEVEL") suffix=.zst ;;
    gzip) compress=(gzip "-$LEVEL") suffix=.gz ;;
    none) compress=(cat) suffix= ;;
    *) echo "build.sh: DEB_COMPRESSION is xz, zstd, gzip or none" >&2; exit 2 ;;
esac
pack=build/deb/pack
mkdir -p "$pack" dist
echo 2.0 > "$pack/debian-binary"
tar_options=(--format=gnu --numeric-owner --owner=0 --group=0 --sort=name --mtime=@"$(git log -1 --format=%ct 2>/dev/null || date +%s)")
tar "${tar_options[@]}" -C "$STAGE/DEBIAN" -cf - . | xz -6 > "$pack/control.tar.xz"
packed=$(date +%s)
tar "${tar_options[@]}" -C "$STAGE" -cf - ./opt/photosearch ./usr | "${compress[@]}" > "$pack/data.tar$suffix"
deb="dist/photosearch_${VERSION}_${ARCH}.deb"
rm -f "$deb"
ar rc "$deb" "$pack/debian-binary" "$pack/control.tar.xz" "$pack/data.tar$suffix"
dpkg-deb --info "$deb" >/dev/null
dpkg-deb --contents "$deb" >build/deb/contents.txt
grep -q ' ./opt/photosearch/photosearch$' build/deb/contents.txt || { echo "build.sh: the package has no app" >&2; exit 1; }
now=$(date +%s)
echo "build.sh: $deb: $(du -m "$deb" | cut -f1) MB (installed $((installed_kib / 1024)) MB; packing $((now - packed)) s, in all $((now - started)) s)"
echo "build.sh: Depends: $depends"
