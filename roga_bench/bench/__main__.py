"""``python -m roga_bench.bench``: see ``roga_bench.bench`` for usage."""

import sys

from roga_bench.bench._cli import main

if __name__ == "__main__":
    sys.exit(main())
