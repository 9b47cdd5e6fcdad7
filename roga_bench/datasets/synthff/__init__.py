"""SynthFF: a procedural stand-in for FaceForensics++ that runs on a laptop CPU (DESIGN §5).

Procedurally drawn talking faces, the four FF++ manipulation families (DF, F2F, FS, NT) and three
cross-dataset targets (SynthCDF, SynthUADFV, SynthDFDC), written as PNG frames plus
``dataset_json/*.json`` in DeepfakeBench's layout, deterministic per seed::

    python -m roga_bench.datasets.synthff --out data/synthff --seed 0

``ensure_synthff()`` builds it once into ``$ROGA_BENCH_DATA`` (default ``~/.cache/roga_bench``).
"""

from roga_bench.datasets.synthff._cache import cache_root, ensure_synthff
from roga_bench.datasets.synthff._example import Example, render_example
from roga_bench.datasets.synthff._generate import SYNTHFF_VERSION, generate

__all__ = [
    "SYNTHFF_VERSION",
    "generate",
    "ensure_synthff",
    "cache_root",
    "render_example",
    "Example",
    "METHODS",
    "ENVIRONMENTS",
]

METHODS = ("DF", "F2F", "FS", "NT")
ENVIRONMENTS = (*METHODS, "SynthCDF", "SynthUADFV", "SynthDFDC")
