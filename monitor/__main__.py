"""`python -m monitor` does what the `oss-monitor` command does."""

import sys

from monitor.cli import main

if __name__ == "__main__":
    sys.exit(main())
