"""What goes into the frozen app, what stays out, and the check that the build kept its word.

Shared by the PyInstaller spec (which filters its tables of contents with `keep`) and by
`check_bundle.py` (run on the finished folder by every build). Data files are listed here
explicitly: PyInstaller's package-data helpers can return nothing without a word, and a
missing tiny model must fail the build, not the user.
"""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "photosearch"

MACOS_MINIMUM = "14.0"  # the oldest macOS the app (and every library inside it) runs on

# (file in the checkout, folder inside the bundle): every data file the app reads at run time.
APP_DATA = [
    ("photosearch/resources/models/tiny-shapes.json", "photosearch/resources/models"),
    ("photosearch/resources/models/tiny-shapes.safetensors", "photosearch/resources/models"),
    ("photosearch/resources/models/tiny-shapes.metrics.txt", "photosearch/resources/models"),
    ("photosearch/resources/icons/photosearch.svg", "photosearch/resources/icons"),
    ("photosearch/resources/licenses/THIRD_PARTY_NOTICES.md", "photosearch/resources/licenses"),
    # the demo's HEICs, made beforehand (tools/make_demo_heic.py): the app has no HEVC encoder
    ("photosearch/resources/demo/IMG_0000_red-circle.heic", "photosearch/resources/demo"),
    ("photosearch/resources/demo/IMG_0001_red-square.heic", "photosearch/resources/demo"),
    ("photosearch/resources/demo/IMG_0002_red-triangle.heic", "photosearch/resources/demo"),
]

# open_clip's files the app reads: the tokenizer vocabulary and the architectures it offers.
OPEN_CLIP_DATA = ["bpe_simple_vocab_16e6.txt.gz", "model_configs/ViT-B-32.json", "model_configs/ViT-B-32-256.json",
                  "model_configs/ViT-L-14.json"]  # fmt: skip

# Modules nothing in the app imports on any path it takes, but that the analysis would follow:
# open_clip's optional towers (timm, transformers) and hub client, notebooks, plotting, tests.
EXCLUDED_MODULES = [
    "tkinter",
    "matplotlib",
    "IPython",
    "jupyter",
    "notebook",
    "pandas",
    "scipy",
    "pytest",
    "timm",
    "transformers",
    "huggingface_hub",
    "hf_xet",
    "torch.utils.tensorboard",
    "tensorboard",
    "triton",
    "PyQt5",
    "PyQt6",
    "PySide2",
    "readline",  # an interactive prompt's; the app has none (and it would add libreadline)
]

# Bundle paths left out, as fnmatch patterns over the path inside the bundle's library folder
# ('/'-separated; `*` also matches '/'). PySide6 lays Qt out differently per platform (Linux
# and macOS: PySide6/Qt/plugins, PySide6/Qt/lib; Windows: PySide6/plugins, DLLs beside), so
# the Qt patterns fit all three. Left out: tests and tools shipped inside wheels,
# torchvision's CUDA-linked operators (the runtime hook makes torchvision import without
# them), and the Qt parts the window never loads. The window uses QtCore, QtGui, QtWidgets,
# QtNetwork (its local socket: one window per library), QtDBus and QtSvg; it draws on X11
# (xcb), offscreen for scripted runs, Windows or Cocoa, and reads JPEG thumbnails and its SVG
# icon.
EXCLUDED_PATHS = [
    "torch/test/*",
    "torch/include/*",
    "torch/share/*",
    "torch/bin/*test*",
    "torch/bin/*Test",
    "torch/bin/protoc*",
    "torch/bin/*.pt",
    "torch/bin/*.ptl",
    "torch/bin/upgrader_models*",
    "torch/lib/*aoti_custom_ops*",
    "torch/lib/*backend_with_compiler*",
    "torch/lib/*jitbackend_test*",
    "torch/lib/*torchbind_test*",
    "torch/testing/_internal/*",
    "torchvision/_C*",
    "torchvision/image*",
    "torchvision/video_reader*",
    "torchvision.libs/*",
    "libcudart*",  # found by the analysis of torchvision's operators (left out) in a system CUDA
    "libnvjpeg*",
    "PySide6/*plugins/platforms/*qeglfs*",
    "PySide6/*plugins/platforms/*qlinuxfb*",
    "PySide6/*plugins/platforms/*qminimalegl*",
    "PySide6/*plugins/platforms/*qvkkhrdisplay*",
    "PySide6/*plugins/platforms/*qvnc*",
    "PySide6/*plugins/platforms/*qwayland*",
    "PySide6/*plugins/egldeviceintegrations/*",
    "PySide6/*plugins/wayland-*",
    "PySide6/*plugins/imageformats/*qpdf*",
    "PySide6/*plugins/imageformats/*qicns*",
    "PySide6/*plugins/imageformats/*qtga*",
    "PySide6/*plugins/imageformats/*qwbmp*",
    "PySide6/*plugins/networkinformation/*",
    "PySide6/*plugins/generic/*",
    "PySide6/*plugins/platformthemes/*qgtk3*",  # would make GTK 3 a dependency; the portal theme stays
    "PySide6/*plugins/tls/*",
    "PySide6/*Qt6Pdf*",
    "PySide6/*Qt6Wayland*",
    "PySide6/*Qt6Qml*",
    "PySide6/*Qt6Quick*",
    "PySide6/*Qt6EglFSDeviceIntegration*",
    "PySide6/*Qt6EglFsKmsSupport*",
    "PySide6/*Qt6WlShellIntegration*",
    "PySide6/*translations/qtwebengine*",
]

# Files a working app cannot do without (the same kind of patterns): the build fails when one
# is missing.
REQUIRED = [
    *(f"{folder}/{Path(source).name}" for source, folder in APP_DATA),
    *(f"open_clip/{name}" for name in OPEN_CLIP_DATA),
    "photosearch/resources/licenses/THIRD_PARTY_LICENSES.txt",
    "torch/lib/*torch_cpu*",
    "onnxruntime/capi/onnxruntime_pybind11_state*",
    "hnswlib*",
    "_pi_heif*",  # HEIC (found only through an import inside a function)
    "av/_core*",  # videos
    "*dav1d*",  # AV1, inside our FFmpeg (installers/ffmpeg/build.sh)
    "rawpy/_rawpy*",  # camera RAW files
    "PySide6/*plugins/platforms/*qoffscreen*",
    "PySide6/*plugins/imageformats/*qjpeg*",
    "PySide6/*plugins/imageformats/*qsvg*",
    "PySide6/*plugins/iconengines/*qsvgicon*",
]
REQUIRED_ON = {
    "linux": ["PySide6/*plugins/platforms/libqxcb.so", "torch/bin/torch_shm_manager"],
    "win32": ["PySide6/*plugins/platforms/qwindows.dll"],
    "darwin": ["PySide6/*plugins/platforms/libqcocoa.dylib"],
}


# Copyleft that would bind the whole app (GPL), by library name, whatever the system calls it:
# the H.264/HEVC encoders PyPI's PyAV and pillow-heif wheels carry, FFmpeg's GPL-only part,
# readline. The installers ship decoders only (pi-heif; FFmpeg built by ffmpeg/build.sh).
GPL_LIBRARIES = ("*x264*", "*x265*", "*postproc*", "*readline*")
# FFmpeg writes its configure line into every library: a GPL or non-free build says so there
FFMPEG_LIBRARIES = ("libavcodec*", "avcodec*")
FFMPEG_COPYLEFT = (b"--enable-gpl", b"--enable-nonfree", b"--enable-libx264", b"--enable-libx265")


def build_system() -> str:
    """ "linux", "win32" or "darwin": the system this build runs on."""
    return "linux" if sys.platform.startswith("linux") else sys.platform


def required_here() -> list[str]:
    return [*REQUIRED, *REQUIRED_ON.get(build_system(), [])]


# Where a build machine's own libraries live. PyInstaller copies what the bundle links from
# there (X11, xcb, fonts, D-Bus, OpenSSL...); a Debian package must take them from the system
# instead and declare them (build.sh: dpkg-shlibdeps), so a `.deb` build leaves them out.
SYSTEM_LIBRARY_FOLDERS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/")


def is_system_library(source: str) -> bool:
    return source.startswith(SYSTEM_LIBRARY_FOLDERS)


def excluded(bundle_path: str) -> bool:
    """Whether a file, by its path inside the bundle, is left out of the app."""
    path = bundle_path.replace("\\", "/")
    return any(fnmatch.fnmatch(path, pattern) for pattern in EXCLUDED_PATHS)


def version() -> str:
    for line in (PACKAGE / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise SystemExit("no __version__ in photosearch/__init__.py")


if __name__ == "__main__":  # the build scripts ask for the version this way
    print(version())
