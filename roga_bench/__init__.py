"""roga_bench: domain-generalization benchmark harness for deepfake detection.

Registers RoGA, SAM, ASAM, SAGM, GSAM and ERM as DomainBed-style algorithms, FF++
leave-one-manipulation-out and cross-dataset environments, runs sweeps and builds the RoGA
paper's tables. Importing this package is cheap: subpackages load on first use.
"""

__version__ = "0.1.0"
