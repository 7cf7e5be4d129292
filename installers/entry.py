"""The frozen app's entry script (PyInstaller runs it in every process of the installed app).

The worker is a child process that re-runs this script with multiprocessing's own arguments,
so `freeze_support()` comes first and nothing heavy is imported at the top: no Qt, no torch.
Windowed builds (Windows, macOS) start with no stdout or stderr at all; writes to them would
fail, so they go to the user log dir instead.
"""

import multiprocessing
import sys

multiprocessing.freeze_support()


def _give_windowed_builds_streams() -> None:
    if sys.stdout is not None and sys.stderr is not None:
        return
    from photosearch.logs import log_dir

    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stream = open(folder / "console.log", "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (lives as long as the process)
    sys.stdout = sys.stdout or stream
    sys.stderr = sys.stderr or stream


if __name__ == "__main__":
    _give_windowed_builds_streams()
    from photosearch.launcher import main

    sys.exit(main())
