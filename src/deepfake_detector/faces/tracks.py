"""Link faces found in successive video frames into tracks, one per person, by box overlap (NumPy only).

Frame to frame, each track's last box is matched to the new frame's boxes by intersection over union,
highest overlaps first (greedy); a face that matches no track starts a new one. A track missed in up to
``max_gap`` frames in a row (the detector blinked, the face turned) is continued by a later match; after
that it ends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

Box = tuple[float, float, float, float]  # (x, y, w, h), as faces.detect gives them


@dataclass
class Track:
    id: int  # 0, 1, ... in order of first appearance
    detections: list[tuple[int, int]] = field(default_factory=list)  # (frame position, face index in that frame)


def link_tracks(boxes_per_frame: Sequence[Sequence[Box]], min_iou: float = 0.3, max_gap: int = 2) -> list[Track]:
    """Tracks over frames given as lists of face boxes, ordered by first appearance (then by face index)."""
    tracks: list[Track] = []
    last_box: dict[int, Box] = {}  # open tracks: id -> box in the frame it was last seen
    for position, boxes in enumerate(boxes_per_frame):
        open_ids = [t for t in last_box if position - tracks[t].detections[-1][0] <= max_gap + 1]
        last_box = {t: last_box[t] for t in open_ids}
        overlaps = _iou(np.array([last_box[t] for t in open_ids], float).reshape(-1, 4),
                        np.array(boxes, float).reshape(-1, 4))
        matched_tracks: set[int] = set()
        matched_faces: set[int] = set()
        # Highest overlap first; ties by track, then face, so the result does not depend on sort stability.
        for k in np.lexsort((np.tile(np.arange(len(boxes)), len(open_ids)), np.repeat(open_ids, len(boxes)),
                             -overlaps.ravel())):
            row, face = divmod(int(k), len(boxes))
            if overlaps[row, face] < min_iou:
                break
            if open_ids[row] not in matched_tracks and face not in matched_faces:
                matched_tracks.add(open_ids[row])
                matched_faces.add(face)
                tracks[open_ids[row]].detections.append((position, face))
                last_box[open_ids[row]] = boxes[face]
        for face, box in enumerate(boxes):
            if face not in matched_faces:
                tracks.append(Track(len(tracks), [(position, face)]))
                last_box[len(tracks) - 1] = box
    return tracks


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every (x, y, w, h) box in ``a`` with every one in ``b``: shape (len(a), len(b))."""
    ax0, ay0, aw, ah = (a[:, i, None] for i in range(4))
    bx0, by0, bw, bh = (b[None, :, i] for i in range(4))
    inter_w = np.clip(np.minimum(ax0 + aw, bx0 + bw) - np.maximum(ax0, bx0), 0, None)
    inter_h = np.clip(np.minimum(ay0 + ah, by0 + bh) - np.maximum(ay0, by0), 0, None)
    inter = inter_w * inter_h
    union = aw * ah + bw * bh - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
