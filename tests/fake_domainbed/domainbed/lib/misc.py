"""DomainBed's ``seed_hash`` (the only helper the plugin relies on)."""

import hashlib


def seed_hash(*args):
    """Derive an integer hash from all args, for use as a random seed."""
    args_str = str(args)
    return int(hashlib.md5(args_str.encode("utf-8")).hexdigest(), 16) % (2**31)
