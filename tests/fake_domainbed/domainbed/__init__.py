"""Stand-in for DomainBed's package (tests only; see ../README.md)."""
