"""Where to look in a photo, as a user chooses it (kept free of heavy imports: the CLI reads it at start-up)."""

FACE_MODES = ("auto", "off")  # auto: every detected face (whole image if none); off: the whole image
