"""`python -m fiduciary` is the `fiduciary` command."""

import sys

from fiduciary.cli import main

sys.exit(main())
