"""``python -m omniws.cli``: the same as the ``omniws`` command."""

import sys

from . import main

sys.exit(main())
