"""The `photosearch` program: the window with no command (or `gui`), else the command line.

It sits above both, imports neither until it knows which is wanted (the window's process must
never load the command line's heavy paths, nor the command line Qt), and calls
`freeze_support()` first, because an installed (frozen) app's worker process runs this same
entry point.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence

from photosearch import __version__
from photosearch.privacy import keep_new_files_private


def main(argv: Sequence[str] | None = None) -> int:
    multiprocessing.freeze_support()
    keep_new_files_private()
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] in (["--version"], ["-V"]):
        print(f"photosearch {__version__}")
        return 0
    if not args or args[0] == "gui":
        from photosearch.gui.app import main as window

        return window(args[1:])
    from photosearch.cli.main import main as command_line

    return command_line(args)


if __name__ == "__main__":
    sys.exit(main())
