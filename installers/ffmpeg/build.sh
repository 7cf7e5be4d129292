#!/usr/bin/env bash
# FFmpeg for the installers, built from its release source: LGPL only, and only what the app
# reads. PyAV's wheels on PyPI carry an FFmpeg linked with x264 and x265 (GPL) and hundreds
# of formats, protocols and devices the app never opens; this one has the demuxers the app
# allows (core/video.py), the video decoders phones and cameras record with, and one encoder
# (MPEG-4 part 2, for the demo's own videos). installers/lgpl_av.py builds PyAV against it.
#   installers/ffmpeg/build.sh PREFIX
# Needs curl, tar, make, a C compiler and, on x86, nasm. On Windows it runs in MSYS2's
# MINGW64 shell (MinGW-w64 gcc; the import libraries let MSVC build PyAV against it).
# FFMPEG_SOURCE: a copy of the release tarball already here (checked against the same hash).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: installers/ffmpeg/build.sh PREFIX" >&2; exit 2; }
mkdir -p "$1"
prefix=$(cd "$1" && pwd)

VERSION=8.1.2
SHA256=464beb5e7bf0c311e68b45ae2f04e9cc2af88851abb4082231742a74d97b524c
# the release tarball; Debian's pool keeps the same bytes (its .orig.tar.xz, signed upstream)
URLS=("https://ffmpeg.org/releases/ffmpeg-$VERSION.tar.xz"
      "https://deb.debian.org/debian/pool/main/f/ffmpeg/ffmpeg_$VERSION.orig.tar.xz")

# What the app opens (core/video.py's demuxers; tests/test_installers.py keeps them equal)
DEMUXERS=mov,matroska,avi
# Video decoders: phones (H.264, HEVC), cameras and old camcorders (MPEG-4, MPEG-2, Motion
# JPEG, DV, ProRes), the web (VP8, VP9, Theora) and old AVI codecs.
DECODERS=h264,hevc,mpeg4,h263,mpeg1video,mpeg2video,mjpeg,prores,dvvideo,vp8,vp9,theora,msmpeg4v1,msmpeg4v2,msmpeg4v3,rawvideo
PARSERS=h264,hevc,mpeg4video,mpegvideo,mjpeg,h263,vp8,vp9
ENCODERS=mpeg4  # the demo's and the self-test's videos (samples/videos.py); LGPL, FFmpeg's own
MUXERS=mov,mp4

configure=(
    --prefix="$prefix" --enable-shared --disable-static
    --disable-programs --disable-doc --disable-debug
    # nothing found on the build machine slips in (libraries, hardware APIs, devices), no
    # network; and never --enable-gpl, --enable-nonfree or --enable-version3
    --disable-autodetect --disable-network --disable-everything
    --enable-protocol=file
    --enable-demuxer="$DEMUXERS" --enable-decoder="$DECODERS" --enable-parser="$PARSERS"
    --enable-encoder="$ENCODERS" --enable-muxer="$MUXERS"
)
case "$(uname -s)" in
    MINGW*|MSYS*) configure+=(--target-os=mingw32 --extra-ldflags=-static-libgcc) ;;
esac

sha256() { if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tarball="$work/ffmpeg-$VERSION.tar.xz"
if [ -n "${FFMPEG_SOURCE:-}" ]; then
    cp "$FFMPEG_SOURCE" "$tarball"
else
    for url in "${URLS[@]}"; do
        curl -fsSL --retry 3 -o "$tarball" "$url" && break
        echo "ffmpeg/build.sh: $url failed" >&2
    done
fi
if [ ! -f "$tarball" ] || [ "$(sha256 "$tarball")" != "$SHA256" ]; then
    echo "ffmpeg/build.sh: no FFmpeg $VERSION tarball with sha256 $SHA256" >&2
    exit 1
fi
tar -xJf "$tarball" -C "$work"
cd "$work/ffmpeg-$VERSION"
./configure "${configure[@]}" >"$work/configure.log" 2>&1 || { tail -40 "$work/configure.log" >&2; exit 1; }
grep -q '^License: LGPL' "$work/configure.log" || { echo "ffmpeg/build.sh: not an LGPL configuration" >&2; exit 1; }
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
make -j"$jobs" >"$work/make.log" 2>&1 || { tail -40 "$work/make.log" >&2; exit 1; }
make install >/dev/null
# MSVC links PyAV against the import libraries, which MinGW's install leaves beside the DLLs
if compgen -G "$prefix/bin/*.lib" >/dev/null; then cp "$prefix"/bin/*.lib "$prefix/lib/"; fi
cp "$tarball" "$prefix/"  # the exact source, published with each release beside the installers
printf '%s\n' "${configure[@]}" | grep -v -e '^--prefix=' >"$prefix/configuration.txt"
echo "ffmpeg/build.sh: FFmpeg $VERSION (LGPL) in $prefix: $(du -sk "$prefix/lib" | cut -f1) KiB of libraries"
