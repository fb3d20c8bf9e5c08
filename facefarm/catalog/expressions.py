"""Facial expression data: the 52 ARKit unit names and named presets over them.

"Left"/"Right" in unit names are the *subject's* left/right (ARKit convention), the same
as the head model's face units. Each preset is a sparse map unit -> weight (0..1) at full
intensity; the sampler multiplies by an intensity and clips to 0..1. The weights follow
the FACS action units usually listed for each expression (e.g. surprise = AU1+2+5+26:
brows raised, upper lids raised, jaw dropped), set by eye, not fitted to data.
"""

from __future__ import annotations

from types import MappingProxyType

#: The 52 ARKit blendshape names, in alphabetical order.
ARKIT_UNITS: tuple[str, ...] = (
    "browDownLeft",
    "browDownRight",
    "browInnerUp",
    "browOuterUpLeft",
    "browOuterUpRight",
    "cheekPuff",
    "cheekSquintLeft",
    "cheekSquintRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
    "eyeLookDownLeft",
    "eyeLookDownRight",
    "eyeLookInLeft",
    "eyeLookInRight",
    "eyeLookOutLeft",
    "eyeLookOutRight",
    "eyeLookUpLeft",
    "eyeLookUpRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "eyeWideLeft",
    "eyeWideRight",
    "jawForward",
    "jawLeft",
    "jawOpen",
    "jawRight",
    "mouthClose",
    "mouthDimpleLeft",
    "mouthDimpleRight",
    "mouthFrownLeft",
    "mouthFrownRight",
    "mouthFunnel",
    "mouthLeft",
    "mouthLowerDownLeft",
    "mouthLowerDownRight",
    "mouthPressLeft",
    "mouthPressRight",
    "mouthPucker",
    "mouthRight",
    "mouthRollLower",
    "mouthRollUpper",
    "mouthShrugLower",
    "mouthShrugUpper",
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthStretchLeft",
    "mouthStretchRight",
    "mouthUpperUpLeft",
    "mouthUpperUpRight",
    "noseSneerLeft",
    "noseSneerRight",
    "tongueOut",
)

#: Units that aim the eyes; a random blend leaves them alone because gaze is sampled
#: separately (in degrees) and applied by rotating the eyeballs.
GAZE_UNITS: frozenset[str] = frozenset(u for u in ARKIT_UNITS if u.startswith("eyeLook"))


def _both(name: str, w: float) -> dict[str, float]:
    return {f"{name}Left": w, f"{name}Right": w}


_PRESETS: dict[str, dict[str, float]] = {
    "neutral": {},
    # smiles part the lips over the upper teeth (the template's mouthUpperUp alone lifts the lip
    # little: mouthShrugUpper adds to it); the big one opens the jaw and shows the lower lip's
    # inside, both raise the cheeks and narrow the eyes (Duchenne: AU6 + AU12, + AU25/26)
    "smile": {
        **_both("mouthSmile", 0.8),
        "mouthShrugUpper": 0.3,
        **_both("mouthUpperUp", 0.5),
        "jawOpen": 0.08,
        **_both("cheekSquint", 0.4),
        **_both("eyeSquint", 0.2),
    },
    "big_smile": {
        **_both("mouthSmile", 0.9),
        "mouthShrugUpper": 0.5,
        **_both("mouthUpperUp", 0.8),
        **_both("mouthLowerDown", 0.3),
        "jawOpen": 0.25,
        **_both("cheekSquint", 0.5),
        **_both("eyeSquint", 0.3),
    },
    "surprise": {
        "browInnerUp": 0.9,
        **_both("browOuterUp", 0.8),
        **_both("eyeWide", 0.8),
        "jawOpen": 0.5,
        "mouthFunnel": 0.2,
    },
    "anger": {
        **_both("browDown", 0.9),
        **_both("eyeSquint", 0.4),
        **_both("noseSneer", 0.3),
        **_both("mouthPress", 0.5),
        **_both("mouthFrown", 0.3),
        "mouthRollLower": 0.2,
    },
    "sadness": {
        "browInnerUp": 0.7,
        **_both("browDown", 0.2),
        **_both("mouthFrown", 0.6),
        "mouthShrugLower": 0.35,
        **_both("eyeBlink", 0.15),
    },
    "disgust": {
        **_both("noseSneer", 0.8),
        **_both("mouthUpperUp", 0.6),
        **_both("mouthFrown", 0.3),
        "mouthShrugLower": 0.3,
        **_both("browDown", 0.3),
        **_both("cheekSquint", 0.3),
    },
    "fear": {
        "browInnerUp": 0.8,
        **_both("browOuterUp", 0.5),
        **_both("browDown", 0.3),
        **_both("eyeWide", 0.9),
        **_both("mouthStretch", 0.6),
        "jawOpen": 0.25,
    },
    "contempt": {"mouthDimpleLeft": 0.6, "mouthSmileLeft": 0.3, "mouthPressLeft": 0.2, "eyeSquintLeft": 0.1},
    "mouth_open": {"jawOpen": 0.6, **_both("mouthLowerDown", 0.2)},
    "scream": {
        "jawOpen": 0.9,
        **_both("mouthStretch", 0.5),
        "browInnerUp": 0.5,
        **_both("eyeSquint", 0.3),
        **_both("mouthUpperUp", 0.3),
    },
    "pucker": {"mouthPucker": 0.9, "mouthFunnel": 0.2},
    "cheek_puff": {"cheekPuff": 0.9, "mouthClose": 0.2},
    "squint": {**_both("eyeSquint", 0.8), **_both("cheekSquint", 0.4), **_both("browDown", 0.2)},
    "wink_left": {"eyeBlinkLeft": 1.0, "cheekSquintLeft": 0.3, "mouthSmileLeft": 0.3},
    "wink_right": {"eyeBlinkRight": 1.0, "cheekSquintRight": 0.3, "mouthSmileRight": 0.3},
    "tongue_out": {"jawOpen": 0.4, "tongueOut": 0.8},
    "eyes_closed": _both("eyeBlink", 1.0),
}

#: Preset name -> {unit: weight at intensity 1}. Read-only.
EXPRESSION_PRESETS = MappingProxyType({k: MappingProxyType(v) for k, v in _PRESETS.items()})
