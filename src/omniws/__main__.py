"""``python -m omniws``: the same as the ``omniws`` command."""

import sys

from .cli import main

sys.exit(main())
