"""`python -m dev.bouncelab OUT_DIR --root ROOT` (see dev.bouncelab.lab)."""

import sys

from dev.bouncelab.lab import main

sys.exit(main())
