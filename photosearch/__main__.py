"""`python -m photosearch`: the same program as the `photosearch` command."""

import sys

from .launcher import main

sys.exit(main())
