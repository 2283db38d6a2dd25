"""python -m dashboard: the command line."""

import sys

from dashboard.commands.main import main

sys.exit(main())
