#!/usr/bin/env bash
# What the tests need from Debian/Ubuntu that a bare image lacks: Xvfb and xauth (the tests' real
# X11 window), xdotool and xwd (real keys and clicks, screenshots), the two xcb libraries Qt's
# X11 platform plugin loads that are often missing, and the installers' checkers (makensis compiles the Windows installer script,
# desktop-file-validate and appstreamcli the Linux desktop entry and its software-centre
# description, shellcheck the installer scripts).
# Installs only what is missing, as root, with apt-get; anywhere else (no apt, not root) it says
# what to install and carries on: those tests then skip.
set -euo pipefail
packages=(xvfb xauth libxcb-icccm4 libxcb-keysyms1 xdotool x11-apps nsis desktop-file-utils shellcheck appstream)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
    echo "tests that need them will be skipped: install ${missing[*]} (as root: apt-get install ${missing[*]})" >&2
    exit 0
fi
echo "installing what the tests need from the system: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
