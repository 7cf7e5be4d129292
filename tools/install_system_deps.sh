#!/usr/bin/env bash
# What a real Qt window needs on Debian/Ubuntu and is not in a bare image: Xvfb and xauth (for
# the tests' real X11 window and screenshots) and the two xcb libraries Qt's X11 platform plugin
# loads that are often missing. Installs only what is missing, as root, with apt-get; anywhere
# else (no apt, not root) it says what to install and carries on: the offscreen tests still run.
set -euo pipefail
packages=(xvfb xauth libxcb-icccm4 libxcb-keysyms1)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "window tests under X11 will be skipped: install ${missing[*]} (as root: apt-get install ${missing[*]})" >&2
    exit 0
fi
echo "installing what a real window needs: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
