"""`photosearch selftest`: prove, offline, that this installation decodes, embeds, indexes and
finds the right photos, using the bundled tiny model on freshly generated photos.

Installers run it against the frozen app; users can run it when something looks wrong.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from photosearch.core.library import Library
from photosearch.core.models.registry import TINY_MODEL_NAME

from . import synthetic
from .demo import DEMO_HEIC, demo_heic_name


def run_selftest(say: Callable[[str], None] = print) -> bool:
    """Returns True when every check passes; `say` receives one line per check."""
    started = time.monotonic()
    ok = True

    def check(name: str, passed: bool, detail: str = "") -> None:
        nonlocal ok
        ok = ok and passed
        say(f"{'ok  ' if passed else 'FAIL'}  {name}" + (f" ({detail})" if detail else ""))

    with tempfile.TemporaryDirectory(prefix="photosearch-selftest-") as scratch:
        folder = Path(scratch) / "photos"
        rng = random.Random(31337)
        truth: dict[str, str] = {}
        for label in synthetic.shape_labels():
            for n in range(2):
                path = synthetic.write_photo(
                    folder / f"{label.key.replace(' ', '-')}-{n}.jpg", label, (1280, 960), rng, (1, 6)[n]
                )
                truth[str(path)] = label.key
        for orientation in (1, 3, 6, 8):
            for layout in (synthetic.LayoutLabel("red", "blue", "vertical"), synthetic.LayoutLabel("blue", "red", "vertical")):
                name = f"{layout.key.replace(' ', '-')}-o{orientation}.jpg"
                truth[str(synthetic.write_photo(folder / name, layout, (1024, 768), rng, orientation))] = layout.key
        (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a photo")
        # a phone's HEIC (made beforehand: the app decodes HEIC but has no encoder)
        heic = folder / "phone.heic"
        shutil.copyfile(DEMO_HEIC / demo_heic_name(0), heic)
        heic_label = synthetic.all_labels()[0]
        truth[str(heic)] = heic_label.key
        # a RAW stored sideways with no preview (LibRaw develops it) and a video whose second
        # scene is the one asked for: the bundled LibRaw and FFmpeg at work
        from .raw_files import write_dng
        from .videos import write_video

        raw_label, clip_label = (
            synthetic.LayoutLabel("green", "yellow", "vertical"),
            synthetic.LayoutLabel("white", "black", "horizontal"),
        )
        raw = write_dng(folder / "camera.dng", synthetic.render(raw_label, (800, 600), rng), orientation=6, preview=None)
        clip = write_video(folder / "clip.mp4", [(synthetic.ShapeLabel("blue", "square"), 2.0), (clip_label, 2.0)], rng=rng)
        truth[str(raw)], truth[str(clip)] = raw_label.key, "a video"
        with Library(Path(scratch) / "library", model=TINY_MODEL_NAME) as library:
            library.add_folder(folder)
            _, report = library.index()
            check("decode and index", report.indexed == len(truth), f"{report.indexed}/{len(truth)} photos")
            check("unreadable file skipped with a reason", report.skipped == 1 and bool(library.catalog.skipped()[0][1]))
            hits = 0
            for label in synthetic.shape_labels():
                top = library.search(f"a {label.colour} {label.shape}", k=1)
                hits += bool(top) and truth[top[0].path] == label.key
            check("text search finds the right photo", hits >= 16, f"{hits}/18 queries")
            found = [truth[r.path] for r in library.search("red above blue", k=4)]
            check("EXIF orientation applied", found == ["red above blue"] * 4, ", ".join(found))
            similar = library.similar(Path(next(iter(truth))), k=1)
            check("similar-photo search", bool(similar) and truth[similar[0].path] == next(iter(truth.values())))
            top_heic = library.search(f"a {heic_label.key}", k=3)
            check("HEIC photo (libheif)", any(hit.path == str(heic) for hit in top_heic))
            top_raw = library.search(raw_label.key, k=1)
            check("RAW file (LibRaw)", bool(top_raw) and top_raw[0].path == str(raw) and top_raw[0].kind == "raw")
            top_clip = library.search(clip_label.key, k=1)
            at = top_clip[0].at if top_clip and top_clip[0].path == str(clip) else None
            check("video, at the matching second (FFmpeg)", at == 2.0, f"at {at} s")
            check("index health", library.status().index.healthy)
            backend, note = library.inference_backend
            # torch with no note is what was asked for (a GPU, or --backend torch); a note is a fallback
            check(
                "inference runtime",
                backend is not None and not (backend == "torch" and note),
                f"{backend}{': ' + note if note else ''}",
            )
    say(f"{'passed' if ok else 'FAILED'} in {time.monotonic() - started:.1f} s")
    return ok
