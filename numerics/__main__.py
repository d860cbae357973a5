"""``python -m numerics`` — see :mod:`numerics.cli`."""
import sys

from numerics.cli import main

sys.exit(main())
