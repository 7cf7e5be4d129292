"""The window's platform where Qt's own choice would fail: a Wayland session, and a build that
ships only X11's plugin (the installers). The installed app under such a session is proven in
installers/linux/test.sh (its Xvfb window runs with a Wayland session's variables)."""

from __future__ import annotations

import pytest

from photosearch.gui.platform_choice import NoUsableDisplay, platform_for

WAYLAND = {"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}


def test_a_wayland_session_without_the_wayland_plugin_uses_xwayland() -> None:
    assert platform_for({**WAYLAND, "DISPLAY": ":0"}, lambda name: name == "xcb", "linux") == "xcb"


def test_qt_chooses_where_it_can() -> None:
    assert platform_for({**WAYLAND, "DISPLAY": ":0"}, lambda name: True, "linux") is None  # the plugin is there
    assert platform_for({"DISPLAY": ":0"}, lambda name: False, "linux") is None  # an X11 session
    assert platform_for({**WAYLAND, "QT_QPA_PLATFORM": "offscreen"}, lambda name: False, "linux") is None  # asked for
    assert platform_for(WAYLAND, lambda name: False, "darwin") is None


def test_a_wayland_session_with_no_xwayland_says_what_to_install() -> None:
    with pytest.raises(NoUsableDisplay, match="install XWayland"):
        platform_for(WAYLAND, lambda name: name == "xcb", "linux")
