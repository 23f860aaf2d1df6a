"""``python -m arbcore`` is the ``arbcore`` command."""

import sys

from arbcore.cli import main

sys.exit(main())
