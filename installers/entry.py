"""The frozen app's entry script (PyInstaller runs it in every process of the installed app).

The worker is a child process that re-runs this script with multiprocessing's own arguments,
so `freeze_support()` comes first (after the running mark, photosearch/running.py) and nothing
heavy is imported at the top: no Qt, no torch.
Windowed builds (Windows, macOS) start with no stdout or stderr at all; writes to them would
fail, so they go to the user log dir instead (`photosearch.logs.guard_std_streams`).
"""

import multiprocessing
import sys

from photosearch.running import announce

announce()  # every process of the installed app, the worker too: the installer checks for it
multiprocessing.freeze_support()


if __name__ == "__main__":
    from photosearch.launcher import main
    from photosearch.logs import guard_std_streams

    guard_std_streams()
    sys.exit(main())
