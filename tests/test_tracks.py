"""Linking face boxes across video frames into tracks."""

from __future__ import annotations

from deepfake_detector.faces.tracks import link_tracks


def _faces(tracks) -> list[list[tuple[int, int]]]:
    return [t.detections for t in tracks]


def test_two_faces_crossing_keep_their_tracks_whatever_order_the_detector_lists_them() -> None:
    # A walks right along the top, B left lower down; they pass each other at x = 100. The detector lists
    # faces left to right, so the list order swaps after the crossing.
    frames = []
    for step in range(11):
        a, b = (20 * step, 0, 100, 100), (200 - 20 * step, 60, 100, 100)
        frames.append(sorted([a, b]))
    tracks = link_tracks(frames)
    assert [t.id for t in tracks] == [0, 1]
    for track in tracks:  # each track keeps one face: its boxes move 20 px a frame, in one direction
        xs = [frames[pos][face][0] for pos, face in track.detections]
        assert len(xs) == 11 and len({b - a for a, b in zip(xs, xs[1:], strict=False)}) == 1
    assert [face for _, face in tracks[0].detections] == [0] * 6 + [1] * 5  # A is listed second once past B


def test_a_face_missed_for_up_to_max_gap_frames_stays_one_track_and_longer_starts_a_new_one() -> None:
    face = (50, 50, 80, 80)
    assert _faces(link_tracks([[face], [], [face], [], [], [face]])) == [[(0, 0), (2, 0), (5, 0)]]
    assert _faces(link_tracks([[face], [], [], [], [face]], max_gap=2)) == [[(0, 0)], [(4, 0)]]
    assert _faces(link_tracks([[face], [], [face]], max_gap=0)) == [[(0, 0)], [(2, 0)]]


def test_a_new_face_gets_a_new_track_in_order_of_first_appearance() -> None:
    left, right, middle = (0, 0, 50, 50), (300, 0, 50, 50), (150, 100, 50, 50)
    tracks = link_tracks([[left], [right, left], [middle, left, right], [left]])
    assert _faces(tracks) == [[(0, 0), (1, 1), (2, 1), (3, 0)], [(1, 0), (2, 2)], [(2, 0)]]
    assert [t.id for t in tracks] == [0, 1, 2]


def test_matching_takes_the_best_overlap_first_and_ignores_overlaps_under_min_iou() -> None:
    # Two boxes near the old one: the one overlapping most continues the track, the other starts one.
    tracks = link_tracks([[(0, 0, 100, 100)], [(40, 0, 100, 100), (10, 0, 100, 100)]])
    assert _faces(tracks) == [[(0, 0), (1, 1)], [(1, 0)]]
    # IoU of (0, 0, 100, 100) and (60, 0, 100, 100) is 40/160 = 0.25: under 0.3, over 0.2.
    shifted = [[(0, 0, 100, 100)], [(60, 0, 100, 100)]]
    assert len(link_tracks(shifted)) == 2
    assert len(link_tracks(shifted, min_iou=0.2)) == 1


def test_no_frames_no_faces_and_degenerate_boxes() -> None:
    assert link_tracks([]) == []
    assert link_tracks([[], []]) == []
    assert _faces(link_tracks([[(5, 5, 0, 0)], [(5, 5, 0, 0)]])) == [[(0, 0)], [(1, 0)]]  # zero area: no overlap
