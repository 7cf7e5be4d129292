#!/usr/bin/env bash
# What building the .deb needs from Debian: dpkg-shlibdeps (dpkg-dev), objdump and strip
# (binutils), desktop-file-validate, a C++ compiler for hnswlib, the Python venv module, and what
# building FFmpeg, dav1d and PyAV needs (make, curl, xz, nasm, pkg-config, meson, ninja:
# installers/ffmpeg/build.sh).
# Installs only what is missing, as root, with apt-get; elsewhere it names what is missing.
set -euo pipefail
packages=(dpkg-dev binutils desktop-file-utils g++ python3-venv make curl xz-utils nasm pkg-config meson ninja-build)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "build-deps.sh: install ${missing[*]} first (as root: apt-get install ${missing[*]})" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
