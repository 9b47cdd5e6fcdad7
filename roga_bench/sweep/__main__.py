"""``python -m roga_bench.sweep {launch,delete_incomplete,status,list} [options]``."""

import sys

from roga_bench.sweep._cli import main

if __name__ == "__main__":
    sys.exit(main())
