"""The system trash, through the real freedesktop trash of a test HOME: a file goes there with
its .trashinfo, never across filesystems, and comes back where it was."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from conftest import small_disk

from photosearch.trash import TrashError, move_to_trash, restore

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the freedesktop trash")


def _trash() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "Trash"


def test_a_photo_goes_to_the_home_trash_with_its_record_and_comes_back(tmp_path: Path) -> None:
    photo = tmp_path / "Pictures" / "beach día 1.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"jpeg bytes")
    item = move_to_trash(photo)
    assert not photo.exists() and item.location == _trash() / "files" / photo.name
    assert item.location.read_bytes() == b"jpeg bytes"
    record = (_trash() / "info" / f"{photo.name}.trashinfo").read_text().splitlines()
    assert record[0] == "[Trash Info]" and record[1] == f"Path={str(photo).replace(' ', '%20').replace('í', '%C3%AD')}"
    assert record[2].startswith("DeletionDate=20")
    restore(item)
    assert photo.read_bytes() == b"jpeg bytes" and not item.location.exists() and not (item.info and item.info.exists())


def test_names_never_collide_and_a_file_back_in_place_is_not_overwritten(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "IMG_1.jpg", tmp_path / "b" / "IMG_1.jpg"
    for photo, data in ((first, b"one"), (second, b"two")):
        photo.parent.mkdir()
        photo.write_bytes(data)
    one, two = move_to_trash(first), move_to_trash(second)
    assert one.location is not None and two.location is not None
    assert (one.location.name, two.location.name) == ("IMG_1.jpg", "IMG_1.2.jpg")
    first.write_bytes(b"a new photo with the old name")
    with pytest.raises(TrashError, match="exists again"):
        restore(one)
    assert first.read_bytes() == b"a new photo with the old name" and one.location.read_bytes() == b"one"
    restore(two)
    assert second.read_bytes() == b"two"
    with pytest.raises(TrashError, match="no longer there"):
        move_to_trash(tmp_path / "missing.jpg")


def test_a_file_on_another_filesystem_goes_to_that_filesystems_trash(tmp_path: Path) -> None:
    with small_disk(tmp_path / "usb", "4m") as drive:
        photo = drive / "DCIM" / "IMG_2.jpg"
        photo.parent.mkdir()
        photo.write_bytes(b"from the card")
        item = move_to_trash(photo)
        assert item.location == drive / f".Trash-{os.getuid()}" / "files" / "IMG_2.jpg", "never copied across filesystems"
        info = (drive / f".Trash-{os.getuid()}" / "info" / "IMG_2.jpg.trashinfo").read_text()
        assert "Path=DCIM/IMG_2.jpg\n" in info  # relative to the filesystem's top, as the spec says
        restore(item)
        assert photo.read_bytes() == b"from the card"
