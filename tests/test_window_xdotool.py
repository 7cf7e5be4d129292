"""The real window under Xvfb, driven with real X input (xdotool), as a user would: type a query,
End, a new query, Space for the preview, Escape, Ctrl+Q. What it shows is read from its window
titles (which name the query, its result count and the previewed photo) and from the X server's
own picture of a window; screenshots are kept for a person to look at.

A dump of the root window shows a dialog (a window with a parent, such as the preview) black on
Xvfb even after Qt painted it, with or without a window manager; a dump of the dialog's own
window shows what it painted. So the preview is looked at through its own window.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from photosearch.core.library import Library
from photosearch.samples import synthetic

pytestmark = [
    pytest.mark.usefixtures("tiny_model"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Xvfb and xdotool are X11 tools"),
]
RED = synthetic.ShapeLabel("red", "circle")
GREEN = synthetic.ShapeLabel("green", "triangle")
OTHERS = [synthetic.ShapeLabel(c, s) for c in ("blue", "yellow") for s in ("square", "circle")]


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """An Xvfb on a free display number: one whose socket appears and that stays up (another
    test may be starting a server at the same moment, on the same number)."""
    for number in random.sample(range(40, 400), 20):
        if Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists():
            continue
        server = subprocess.Popen(
            ["Xvfb", f":{number}", "-screen", "0", "1600x1000x24", "-nolisten", "tcp"], stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and server.poll() is None:
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return server, str(number)
            time.sleep(0.05)
        server.kill()
        server.wait(10)
    raise AssertionError("Xvfb did not start")


@pytest.fixture
def display(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh X server of 1600 × 1000 and the environment that reaches it."""
    if not (shutil.which("Xvfb") and shutil.which("xdotool") and shutil.which("xwd")):
        pytest.skip("Xvfb, xdotool and xwd are not installed (tools/install_system_deps.sh installs them)")
    server, number = _start_xvfb()
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=f":{number}", XDG_CONFIG_HOME=str(tmp_path / "config"))
    try:
        yield env
    finally:
        server.terminate()
        server.wait(10)


def _xdotool(env: dict[str, str], *args: str) -> str:
    return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=30).stdout.strip()


def _find(env: dict[str, str], name: str, timeout: float = 90) -> str:
    """The id of the visible window whose title matches `name`, once there is one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _xdotool(env, "search", "--onlyvisible", "--name", name).splitlines()
        if found:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"no window named {name!r} appeared")


def _screenshot(env: dict[str, str], path: Path, window: str | None = None) -> None:
    """The whole screen (or one window) as an X11 dump (`xwd`; `convert` or any viewer opens it)."""
    which = ["-id", window] if window else ["-root"]
    subprocess.run(["xwd", *which, "-silent", "-out", str(path)], env=env, check=True, timeout=30)


def _pixels_near(path: Path, colour: tuple[int, int, int], within: int = 40) -> int:
    """How many pixels of an xwd dump (32 bits a pixel, as Xvfb's 24-bit screen writes) are near `colour`."""
    data = path.read_bytes()
    fields = struct.unpack(">25I", data[:100])
    header_size, width, height, byte_order = fields[0], fields[4], fields[5], fields[7]
    bits, line, masks, colours = fields[11], fields[12], fields[14:17], fields[19]
    assert bits == 32, f"an xwd dump of {bits} bits a pixel"
    start = header_size + 12 * colours
    order = "<" if byte_order == 0 else ">"
    shifts = [(mask & -mask).bit_length() - 1 for mask in masks]
    near = 0
    for y in range(height):
        row = struct.unpack_from(f"{order}{width}I", data, start + y * line)
        for pixel in row[::2]:  # every other pixel is plenty
            rgb = [(pixel & mask) >> shift for mask, shift in zip(masks, shifts, strict=True)]
            near += all(abs(c - w) <= within for c, w in zip(rgb, colour, strict=True))
    return near


def _quit_with_keys(env: dict[str, str], window: str, app: subprocess.Popen[str]) -> None:
    """Ctrl+Q in the window, as a user quits; the app ends cleanly."""
    _xdotool(env, "windowfocus", "--sync", window)
    _xdotool(env, "key", "ctrl+q")
    assert app.wait(30) == 0


def _title_of(env: dict[str, str], window: str) -> str:
    return _xdotool(env, "getwindowname", window)


def _wait_title(env: dict[str, str], window: str, wanted: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    title = ""
    while time.monotonic() < deadline:
        title = _title_of(env, window)
        if wanted in title:
            return title
        time.sleep(0.1)
    raise AssertionError(f"the window's title never said {wanted!r}; last: {title!r}")


@contextlib.contextmanager
def _window_app(env: dict[str, str], home: Path) -> Iterator[subprocess.Popen[str]]:
    """`photosearch gui` on the library, killed if the test left it running; it must end
    without a traceback."""
    app = subprocess.Popen(
        [sys.executable, "-m", "photosearch", "gui", "--library", str(home)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield app
    finally:
        if app.poll() is None:
            app.kill()
        _, stderr = app.communicate(timeout=30)
    assert "Traceback" not in stderr, stderr


def test_a_user_types_scrolls_searches_again_previews_and_quits(display: dict[str, str], tmp_path: Path) -> None:
    photos, home = tmp_path / "photos", tmp_path / "library"
    for i in range(30):
        synthetic.write_photo(photos / f"red-{i:02d}.jpg", RED, (480, 360), random.Random(i))
        synthetic.write_photo(photos / f"other-{i:02d}.jpg", OTHERS[i % len(OTHERS)], (480, 360), random.Random(100 + i))
    synthetic.write_photo(photos / "green-triangle.jpg", GREEN, (480, 360), random.Random(7))
    with Library(home, model="tiny-shapes", threads=2) as library:
        library.add_folder(photos)
        library.index()
    with _window_app(display, home) as app:
        window = _find(display, "^photosearch$")
        _xdotool(display, "windowfocus", "--sync", window)  # no window manager here to activate it
        time.sleep(1.0)  # the worker reports the library
        _xdotool(display, "key", "--window", window, "ctrl+f")
        _xdotool(display, "type", "--delay", "40", "a red circle")
        _wait_title(display, window, "a red circle · ")
        _xdotool(display, "key", "Down")  # from the search field to the results
        _xdotool(display, "key", "End")
        time.sleep(0.5)
        _screenshot(display, tmp_path / "after-end.xwd")
        _xdotool(display, "key", "ctrl+f")
        _xdotool(display, "type", "--delay", "40", "a green triangle")
        _wait_title(display, window, "a green triangle · ")
        _xdotool(display, "key", "Down")
        _xdotool(display, "key", "space")
        preview = _find(display, "^Preview", timeout=30)
        assert "green-triangle.jpg" in _title_of(display, preview), "the new query's best match, at the top, is previewed"
        time.sleep(0.5)  # the preview reads the photo scaled to the screen
        _screenshot(display, tmp_path / "preview.xwd", preview)
        assert _pixels_near(tmp_path / "preview.xwd", synthetic.COLOURS["green"]) > 300, "the preview shows the green triangle"
        _xdotool(display, "windowfocus", "--sync", preview)  # what a window manager does for a new window
        _xdotool(display, "key", "Escape")
        time.sleep(0.5)
        assert not _xdotool(display, "search", "--onlyvisible", "--name", "^Preview"), "Escape closed the preview"
        _quit_with_keys(display, window, app)
    for shot in ("after-end.xwd", "preview.xwd"):
        assert (tmp_path / shot).stat().st_size > 10_000


def test_sigterm_closes_the_window_as_its_close_button_does(display: dict[str, str], tmp_path: Path) -> None:
    """A logout or `kill` once dropped the window's settings; now they are saved as on close."""
    home = tmp_path / "library"
    synthetic.write_photo(tmp_path / "photos" / "red.jpg", RED, (480, 360), random.Random(1))
    with Library(home, model="tiny-shapes", threads=1) as library:
        library.add_folder(tmp_path / "photos")
        library.index()
    app = subprocess.Popen([sys.executable, "-m", "photosearch", "gui", "--library", str(home)], env=display, text=True)
    try:
        _find(display, "^photosearch$")
        time.sleep(1.0)
        app.terminate()
        assert app.wait(60) == 0
    finally:
        if app.poll() is None:
            app.kill()
    saved = list((tmp_path / "config").rglob("*.conf"))
    assert saved and "geometry" in saved[0].read_text(errors="replace"), "the window's settings were saved"


def test_a_second_launch_on_the_library_hands_its_search_to_the_open_window(display: dict[str, str], tmp_path: Path) -> None:
    """A second window on the same library was unusable ("Starting…" for ever); now a second
    launch ("Open with" from the file manager, the icon clicked again) gives its words and
    photos to the window that is open, which searches for them, and exits 0."""
    photos, home = tmp_path / "photos", tmp_path / "library"
    for i in range(4):
        synthetic.write_photo(photos / f"red-{i}.jpg", RED, (480, 360), random.Random(i))
    synthetic.write_photo(photos / "green-triangle.jpg", GREEN, (480, 360), random.Random(7))
    with Library(home, model="tiny-shapes", threads=1) as library:
        library.add_folder(photos)
        library.index()
    command = [sys.executable, "-m", "photosearch", "gui", "--library", str(home)]
    first = subprocess.Popen(command, env=display, stderr=subprocess.PIPE, text=True)
    try:
        window = _find(display, "^photosearch$")
        second = subprocess.run(
            [*command, "--query", "a green triangle"], env=display, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 0 and "went to it" in second.stderr, second.stderr
        _wait_title(display, window, "a green triangle · ")
        opened = subprocess.run([*command, str(photos / "red-0.jpg")], env=display, capture_output=True, text=True, timeout=60)
        assert opened.returncode == 0, opened.stderr
        _wait_title(display, window, "a photo · ")
        assert len(_xdotool(display, "search", "--onlyvisible", "--name", "photosearch$").splitlines()) == 1, "one window"
        _quit_with_keys(display, window, first)
    finally:
        if first.poll() is None:
            first.kill()
        first.communicate(timeout=30)


def test_a_user_reviews_duplicates_trashes_and_undoes(display: dict[str, str], tmp_path: Path) -> None:
    """Ctrl+D opens the Duplicates window on the exact copies; a click on "Move 1 to the trash"
    moves the copy to the freedesktop trash of this HOME; Ctrl+Z puts it back; Escape closes;
    Ctrl+Q quits. (Without a window manager, Qt at times keeps the main window active after
    a second window was focused and even clicked, and the first keys go there; the window's
    keys are tested offscreen in test_duplicates_window.py and were used by hand under Xvfb.)"""
    from datetime import datetime

    from photosearch.samples.duplicate_sets import save
    from photosearch.samples.scenes import scenes

    photos, home = tmp_path / "photos", tmp_path / "library"
    original = save(scenes(1, seed=12)[0].render((800, 600)), photos / "pier.jpg", datetime(2024, 5, 4, 16, 20))
    copy = photos / "backup" / "pier copy.jpg"
    copy.parent.mkdir()
    copy.write_bytes(original.read_bytes())
    for i in range(4):
        synthetic.write_photo(photos / f"other-{i}.jpg", OTHERS[i], (480, 360), random.Random(i))
    with Library(home, model="tiny-shapes", threads=2) as library:
        library.add_folder(photos)
        library.index()
    env = dict(display, XDG_DATA_HOME=str(tmp_path / "data"))
    trashed = tmp_path / "data" / "Trash" / "files" / "pier copy.jpg"
    with _window_app(env, home) as app:
        window = _find(env, "^photosearch$")
        _xdotool(env, "windowfocus", "--sync", window)
        time.sleep(1.0)  # the worker reports the library
        _xdotool(env, "key", "--window", window, "ctrl+d")
        dialog = _find(env, "^Duplicates", timeout=30)
        _wait_title(env, dialog, "1 group of exact copies")  # the first page arrived
        time.sleep(0.3)
        _screenshot(env, tmp_path / "duplicates.xwd", dialog)
        _xdotool(env, "windowfocus", "--sync", dialog)  # what a window manager does for a new window
        _xdotool(env, "mousemove", "--window", dialog, "130", "617", "click", "1")  # "Move 1 to the trash"
        deadline = time.monotonic() + 10
        while copy.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not copy.exists() and trashed.exists() and original.exists(), "the copy, and only it, went to the trash"
        _xdotool(env, "key", "ctrl+z")
        deadline = time.monotonic() + 10
        while not copy.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert copy.read_bytes() == original.read_bytes() and not trashed.exists(), "undo put it back"
        _xdotool(env, "key", "Escape")
        time.sleep(0.5)
        assert not _xdotool(env, "search", "--onlyvisible", "--name", "^Duplicates"), "Escape closed it"
        _quit_with_keys(env, window, app)
    assert (tmp_path / "duplicates.xwd").stat().st_size > 10_000
