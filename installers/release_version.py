"""The version a release is made of, checked and spelled for each installer.

    python installers/release_version.py --tag v0.2.0   # exit 1 unless the tag names the app's version
    python installers/release_version.py --windows      # 0.2.0.0: what Windows' version resource takes

A tag that is not the app's version would publish installers whose `--version`, package name
and About box say otherwise. Windows' VIProductVersion takes four numbers only, so a
pre-release (0.2.0rc1, 0.2.0.dev3) is given its release's numbers there, its full name in the
ProductVersion text.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundle_contents import version


def windows_numbers(text: str) -> str:
    """ "0.2.0rc1" → "0.2.0.0": the release numbers, padded to four, each within 0–65535."""
    match = re.match(r"^(\d+)(?:\.(\d+))?(?:\.(\d+))?", text)
    if match is None:
        raise SystemExit(f"release_version: {text!r} does not start with a version number")
    numbers = [int(n) if n is not None else 0 for n in match.groups()] + [0]
    if any(n > 65535 for n in numbers):
        raise SystemExit(f"release_version: {text!r} has a number above 65535, which Windows cannot show")
    return ".".join(str(n) for n in numbers)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", help="the release's git tag: must be v<version>")
    parser.add_argument("--windows", action="store_true", help="print the four numbers Windows' version resource takes")
    args = parser.parse_args(argv)
    app = version()
    if args.tag is not None and args.tag != f"v{app}":
        print(f"release_version: the tag {args.tag} is not the app's version v{app} (photosearch/__init__.py)", file=sys.stderr)
        return 1
    print(windows_numbers(app) if args.windows else app)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
