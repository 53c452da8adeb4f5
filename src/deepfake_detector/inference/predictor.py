"""Every predictor's entry points: files and in-memory images in, one :class:`Prediction` per input out.

Two predictors implement :meth:`~deepfake_detector.inference.scorer.Scorer.logits` (uint8 crops at the model's
input size -> logits): the :class:`~deepfake_detector.inference.detector.Detector` (PyTorch, or ONNX Runtime as
its runner) and the torch-free :class:`~deepfake_detector.inference.onnx_predict.OnnxPredictor`. Everything
else (decode, faces, crops, batching, aggregation, labels) is :mod:`deepfake_detector.inference.analyze` and,
for videos, :mod:`deepfake_detector.inference.video`, the same for both.
"""

from __future__ import annotations

from pathlib import Path

from tqdm.auto import tqdm

from deepfake_detector.data.video import is_video
from deepfake_detector.faces.locate import check_mode
from deepfake_detector.inference.analyze import Alter, predict_with_faces, with_provenance
from deepfake_detector.inference.prediction import Prediction
from deepfake_detector.inference.scorer import ImageInput, Scorer
from deepfake_detector.inference.video import VideoOptions, predict_video
from deepfake_detector.provenance.read import read_provenance


class Predictor(Scorer):
    """A scorer with the one prediction pipeline for photos, videos and in-memory images."""

    def predict(self, inputs: ImageInput | list[ImageInput], batch_size: int = 32, progress: bool = False,
                faces: str = "auto", video: VideoOptions | None = None, provenance: bool = True) -> list[Prediction]:
        """Predict for image and video files and/or in-memory images (PIL, HxWx3 uint8 arrays, 3xHxW uint8
        tensors), one Prediction per input, in order.

        ``faces="auto"`` scores every detected face (square crop with margin, cut at full resolution; image
        score = max over faces; no face: the whole image, said in ``warning``); ``"off"`` the whole image.
        Videos (recognised by content) are sampled and summed up as ``video`` says (``inference/video.py``).
        A file that cannot be read gets a Prediction with ``error`` set; the others are unaffected.
        ``provenance`` reads what each file says about its origin (C2PA, generator metadata) and applies the
        rule of ``provenance/combine.py``: a declaration of AI generation makes the label "fake" with
        ``reason="provenance"``; otherwise the model decides (``reason="detector"``).
        """
        check_mode(faces)
        items = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
        videos = {i for i, item in enumerate(items) if isinstance(item, str | Path) and is_video(item)}
        photos = [i for i in range(len(items)) if i not in videos]
        results: list[Prediction | None] = [None] * len(items)
        for i, prediction in zip(photos, self.predict_images([items[i] for i in photos], batch_size,
                                                             progress and len(photos) > 1, faces), strict=True):
            results[i] = prediction
        for i in tqdm(sorted(videos), desc="Videos", unit="video", disable=not progress or len(videos) < 2,
                      leave=False):
            results[i] = predict_video(self, items[i], faces, video, batch_size)
        scored: list[Prediction] = results  # type: ignore[assignment] - every slot is filled above
        return [with_provenance(p, read_provenance(item) if provenance and p.label and isinstance(item, str | Path)
                                else None) for p, item in zip(scored, items, strict=True)]

    def predict_images(self, items: list[ImageInput], batch_size: int = 32, progress: bool = False,
                       faces: str = "auto", alter: Alter | None = None) -> list[Prediction]:
        """Photos only (files or in-memory): the pipeline of :mod:`deepfake_detector.inference.analyze`
        (``alter``: a change to each decoded image, e.g. evaluation's processing histories)."""
        return predict_with_faces(self, items, faces, progress, batch_size, alter)
