"""``python -m hilbench.cli``: the same as the ``hilbench`` command."""

import sys

from hilbench.cli import main

sys.exit(main())
