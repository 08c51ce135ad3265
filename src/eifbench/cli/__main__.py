"""``python -m eifbench.cli``."""

import sys

from eifbench.cli import main

sys.exit(main())
