"""Where to look in a photo, as a user chooses it and as a model frames it (kept free of heavy imports: the CLI
reads it at start-up)."""

from typing import Literal

FACE_MODES = ("auto", "off")  # auto: every detected face (whole image if none); off: the whole image

# How a model looks at a photo when predict searches its faces (model.json "framing"): its faces only, or its
# faces and the whole photo (image score: the largest). Video frames are always scored by their faces.
FACES_ONLY, FACES_AND_IMAGE = "faces", "faces+image"
Framing = Literal["faces", "faces+image"]
FRAMINGS = (FACES_ONLY, FACES_AND_IMAGE)
