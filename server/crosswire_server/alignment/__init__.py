"""Cross-lingual sentence alignment: parallel (monotone) and comparable (non-monotone) modes.

    from crosswire_server.alignment import Aligner, prepare
    aligner = Aligner()
    result = aligner.align(prepare(ru_text, "ru"), [prepare(en_text, "en")], mode="comparable")

No grpc here; the gRPC layer is crosswire_server.rpc.alignment.
"""

from crosswire_server.alignment.aligner import Aligner, AlignmentLimits, Translations
from crosswire_server.alignment.inputs import eligible, prepare, presegment
from crosswire_server.alignment.scoring import DEFAULT_WEIGHTS, Weights

__all__ = [
    "Aligner", "AlignmentLimits", "DEFAULT_WEIGHTS", "Translations", "Weights",
    "eligible", "prepare", "presegment",
]
