"""``python -m credence``."""

import sys

from credence.cli import main

sys.exit(main())
