#!/usr/bin/env bash
# FFmpeg for the installers, built from its release source: LGPL only, and only what the app
# reads. PyAV's wheels on PyPI carry an FFmpeg linked with x264 and x265 (GPL) and hundreds
# of formats, protocols and devices the app never opens; this one has the demuxers the app
# allows (core/video.py), the video decoders phones and cameras record with (AV1 through
# dav1d, BSD, built here first), and one encoder (MPEG-4 part 2, for the demo's own videos).
# installers/lgpl_av.py builds PyAV against it.
#   installers/ffmpeg/build.sh PREFIX
# Needs curl, tar, make, meson, ninja, pkg-config, a C compiler and, on x86, nasm. On Windows
# it runs in MSYS2's MINGW64 shell (MinGW-w64 gcc; the import libraries let MSVC build PyAV).
# FFMPEG_SOURCE, DAV1D_SOURCE: copies of the release tarballs already here (checked against
# the same hashes).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: installers/ffmpeg/build.sh PREFIX" >&2; exit 2; }
mkdir -p "$1"
prefix=$(cd "$1" && pwd)

# The release tarballs; Debian's pool keeps the same bytes (its .orig.tar.xz, signed upstream).
VERSION=8.1.2
SHA256=464beb5e7bf0c311e68b45ae2f04e9cc2af88851abb4082231742a74d97b524c
URLS=("https://ffmpeg.org/releases/ffmpeg-$VERSION.tar.xz"
      "https://deb.debian.org/debian/pool/main/f/ffmpeg/ffmpeg_$VERSION.orig.tar.xz")
DAV1D_VERSION=1.5.4
DAV1D_SHA256=686616b7c69eb88d44459391ab25cac13b6647a3b288835c5784e71c1514a5c5
DAV1D_URLS=("https://downloads.videolan.org/pub/videolan/dav1d/$DAV1D_VERSION/dav1d-$DAV1D_VERSION.tar.xz"
            "https://deb.debian.org/debian/pool/main/d/dav1d/dav1d_$DAV1D_VERSION.orig.tar.xz")

# What the app opens (core/video.py's demuxers; tests/test_installers.py keeps them equal)
DEMUXERS=mov,matroska,avi
# Video decoders: phones (H.264, HEVC), cameras and old camcorders (MPEG-4, MPEG-2, Motion
# JPEG, DV, ProRes), the web (VP8, VP9, AV1, Theora) and old AVI codecs.
DECODERS=h264,hevc,libdav1d,mpeg4,h263,mpeg1video,mpeg2video,mjpeg,prores,dvvideo,vp8,vp9,theora,msmpeg4v1,msmpeg4v2,msmpeg4v3,rawvideo
PARSERS=h264,hevc,av1,mpeg4video,mpegvideo,mjpeg,h263,vp8,vp9
ENCODERS=mpeg4  # the demo's and the self-test's videos (samples/videos.py); LGPL, FFmpeg's own
MUXERS=mov,mp4

configure=(
    --prefix="$prefix" --enable-shared --disable-static
    --disable-programs --disable-doc --disable-debug
    # nothing found on the build machine slips in (libraries, hardware APIs, devices), no
    # network; and never --enable-gpl, --enable-nonfree or --enable-version3
    --disable-autodetect --disable-network --disable-everything
    --enable-libdav1d  # the one outside library: AV1, BSD-2-Clause, built just before
    --enable-protocol=file
    --enable-demuxer="$DEMUXERS" --enable-decoder="$DECODERS" --enable-parser="$PARSERS"
    --enable-encoder="$ENCODERS" --enable-muxer="$MUXERS"
)
dav1d=(
    --prefix="$prefix" --libdir=lib --buildtype=release --default-library=shared
    -Denable_tools=false -Denable_tests=false -Denable_examples=false
)
case "$(uname -s)" in
    MINGW*|MSYS*) configure+=(--target-os=mingw32 --extra-ldflags=-static-libgcc) ;;
esac

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch FILE SHA256 LOCAL_COPY URL...: the tarball from the first address that answers
fetch() {
    local file=$1 expected=$2 copy=$3
    shift 3
    if [ -n "$copy" ]; then
        cp "$copy" "$file"
    else
        for url in "$@"; do
            curl -fsSL --retry 3 -o "$file" "$url" && break
            echo "ffmpeg/build.sh: $url failed" >&2
        done
    fi
    if [ ! -f "$file" ] || [ "$(sha256 "$file")" != "$expected" ]; then
        echo "ffmpeg/build.sh: no $(basename "$file") with sha256 $expected" >&2
        exit 1
    fi
    tar -xJf "$file" -C "$work"
}

fetch "$work/dav1d-$DAV1D_VERSION.tar.xz" "$DAV1D_SHA256" "${DAV1D_SOURCE:-}" "${DAV1D_URLS[@]}"
meson setup "${dav1d[@]}" "$work/dav1d-build" "$work/dav1d-$DAV1D_VERSION" >"$work/dav1d.log" 2>&1 || { tail -40 "$work/dav1d.log" >&2; exit 1; }
ninja -C "$work/dav1d-build" install >>"$work/dav1d.log" 2>&1 || { tail -40 "$work/dav1d.log" >&2; exit 1; }
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"

tarball="$work/ffmpeg-$VERSION.tar.xz"
fetch "$tarball" "$SHA256" "${FFMPEG_SOURCE:-}" "${URLS[@]}"
cd "$work/ffmpeg-$VERSION"
./configure "${configure[@]}" >"$work/configure.log" 2>&1 || { tail -40 "$work/configure.log" >&2; exit 1; }
grep -q '^License: LGPL' "$work/configure.log" || { echo "ffmpeg/build.sh: not an LGPL configuration" >&2; exit 1; }
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
make -j"$jobs" >"$work/make.log" 2>&1 || { tail -40 "$work/make.log" >&2; exit 1; }
make install >/dev/null
# MSVC links PyAV against the import libraries, which MinGW's install leaves beside the DLLs
if compgen -G "$prefix/bin/*.lib" >/dev/null; then cp "$prefix"/bin/*.lib "$prefix/lib/"; fi
# the exact sources, published with each release beside the installers
cp "$tarball" "$work/dav1d-$DAV1D_VERSION.tar.xz" "$prefix/"
printf '%s\n' "${configure[@]}" | grep -v -e '^--prefix=' >"$prefix/configuration.txt"
echo "ffmpeg/build.sh: FFmpeg $VERSION (LGPL) with dav1d $DAV1D_VERSION in $prefix: $(du -sk "$prefix/lib" | cut -f1) KiB"
