"""Where photosearch puts things by default that more than one room must agree on.

The demo is written by the command line (`photosearch demo`) and opened by the window: both
must name the same folder, also where the pictures folder has a translated name (`~/Bilder`)
or sits elsewhere (XDG user dirs, Windows known folders), which platformdirs knows.
"""

from __future__ import annotations

from pathlib import Path

DEMO_FOLDER_NAME = "photosearch-demo"
DEMO_LIBRARY_NAME = ".photosearch"  # the demo's library lives inside its own photo folder


def demo_folder() -> Path:
    """The demo's sample photos: a visible folder in the user's pictures folder."""
    from platformdirs import user_pictures_dir

    return Path(user_pictures_dir()) / DEMO_FOLDER_NAME


def demo_library(folder: Path | None = None) -> Path:
    """The demo's library folder, inside the demo's photo folder (default: `demo_folder()`)."""
    return (folder or demo_folder()) / DEMO_LIBRARY_NAME
