"""``python -m trialflow``: the same command line as ``trialflow``."""

import sys

from trialflow.cli import main

if __name__ == "__main__":
    sys.exit(main())
