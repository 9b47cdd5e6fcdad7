"""DeepfakeBench label names and their real (0) / fake (1) labels.

Names follow DeepfakeBench's ``training/config/train_config.yaml`` (``label_dict``), plus the
labels of the SynthFF embedded benchmark. DF40 (DeepfakeBench-v2) extends that ``label_dict``
with one pair per forgery method, ``<method>_Real: 0`` and ``<method>_Fake: 1`` (``simswap_Fake``,
``FSAll_Real``...): names of that pattern map the same way here.
"""

from __future__ import annotations

from roga_bench.datasets._errors import DatasetError

__all__ = ["LABELS", "REAL", "FAKE", "label_of"]

REAL, FAKE = 0, 1

LABELS: dict[str, int] = {
    # FaceForensics++ (FF-FH / FF-SH: FaceShifter, shipped with FF++ in DeepfakeBench)
    "FF-real": REAL,
    "FF-DF": FAKE,
    "FF-F2F": FAKE,
    "FF-FS": FAKE,
    "FF-NT": FAKE,
    "FF-FH": FAKE,
    "FF-SH": FAKE,
    # DeepFakeDetection (Google/Jigsaw, the FF++ add-on)
    "DFD_real": REAL,
    "DFD_fake": FAKE,
    # Celeb-DF
    "CelebDFv1_real": REAL,
    "CelebDFv1_fake": FAKE,
    "CelebDFv2_real": REAL,
    "CelebDFv2_fake": FAKE,
    # UADFV, DFDC, DFDC preview (two fake methods A and B)
    "UADFV_Real": REAL,
    "UADFV_Fake": FAKE,
    "DFDC_Real": REAL,
    "DFDC_Fake": FAKE,
    "DFDCP_Real": REAL,
    "DFDCP_FakeA": FAKE,
    "DFDCP_FakeB": FAKE,
    # DeeperForensics-1.0
    "DF_real": REAL,
    "DF_fake": FAKE,
    # Roop (in DeepfakeBench's label_dict)
    "roop_Real": REAL,
    "roop_Fake": FAKE,
    # SynthFF cross-dataset targets (its FF++ part reuses the FF-* names)
    "SynthCDF_real": REAL,
    "SynthCDF_fake": FAKE,
    "SynthUADFV_real": REAL,
    "SynthUADFV_fake": FAKE,
    "SynthDFDC_real": REAL,
    "SynthDFDC_fake": FAKE,
}


def label_of(name: str, where: str = "") -> int:
    """0 (real) or 1 (fake) for a DeepfakeBench label name.

    Args:
        name: the label name, e.g. ``"FF-DF"``.
        where: the file (and key) the name came from, for the error message.

    Raises:
        DatasetError: for an unknown name; the message lists the known names.
    """
    if name in LABELS:
        return LABELS[name]
    if isinstance(name, str):
        method, _, kind = name.rpartition("_")
        if method and kind in _DF40_SUFFIX:  # DF40's <method>_Real / <method>_Fake
            return _DF40_SUFFIX[kind]
    known = ", ".join(sorted(LABELS))
    prefix = f"{where}: " if where else ""
    raise DatasetError(
        f"{prefix}unknown label name {name!r}; known: {known}, and DF40's <method>_Real / "
        "<method>_Fake"
    )


_DF40_SUFFIX = {"Real": REAL, "Fake": FAKE}
