"""``predict --report out.html``: one self-contained page (inline thumbnails, face boxes, heatmaps),
a table sortable by clicking its headers, and summary counts; opens offline."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from PIL import Image, ImageDraw

from deepfake_detector.config import WITH_IMAGE
from deepfake_detector.data.pillow_decode import decode_rgb_array, read_bytes
from deepfake_detector.errors import DeepfakeDetectorError
from deepfake_detector.inference.prediction import Prediction, verdict_counts
from deepfake_detector.inference.predictor import Predictor
from deepfake_detector.inference.timeline import timeline_png
from deepfake_detector.inference.verdict import FAKE, REAL, UNCERTAIN, VERDICTS, VerdictRule
from deepfake_detector.inference.video import details_verdict, sampled_images, suspicious_faces
from deepfake_detector.models.bundled import bundled_name
from deepfake_detector.utils.html_page import Html, table, write_page

THUMB = 192
_STYLE = """<style>.thumb{width:auto;max-width:192px;max-height:192px;display:block}
.timeline{width:420px;display:block;margin:.3em 0} .crop{width:72px;height:72px;margin-right:4px}
th{cursor:pointer;user-select:none} th:after{content:" \\2195";color:#aaa} .fake{color:#b00020;font-weight:bold}
.real{color:#1b7f3b;font-weight:bold} .uncertain{color:#b26a00;font-weight:bold}
.fake-score{color:#b00020} .real-score{color:#1b7f3b} .uncertain-score{color:#b26a00}
.regions{white-space:nowrap;text-align:left}
td{vertical-align:middle;overflow-wrap:anywhere} td .ci{font-size:.8em}</style>"""
BOX_COLOURS = {FAKE: "#e0002a", REAL: "#18b04a", UNCERTAIN: "#f0a000"}  # red, green, amber
# Click a header to sort by it (numbers numerically, text alphabetically); click again to reverse.
_SORT_JS = """<script>document.querySelectorAll("table").forEach(function(t){
var hs=t.rows[0].cells;for(var i=0;i<hs.length;i++)(function(c){var up=true;hs[c].onclick=function(){
var rows=Array.prototype.slice.call(t.rows,1);rows.sort(function(a,b){var x=a.cells[c].innerText,
y=b.cells[c].innerText,nx=parseFloat(x),ny=parseFloat(y);var r=(isNaN(nx)||isNaN(ny))?x.localeCompare(y):nx-ny;
return up?r:-r});up=!up;rows.forEach(function(r){t.tBodies[0].appendChild(r)})}})(i)})</script>"""


def data_uri(image: Image.Image, fmt: str = "JPEG") -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format=fmt, quality=85)
    return f"data:image/{fmt.lower()};base64,{base64.b64encode(buf.getvalue()).decode()}"


def _img_tag(image: Image.Image, alt: str, css: str = "thumb") -> Html:
    image = image.copy()
    image.thumbnail((THUMB, THUMB) if css == "thumb" else (96, 96))
    return Html(f'<img class="{css}" alt="{html.escape(alt)}" title="{html.escape(alt)}" src="{data_uri(image)}">')


def draw_boxes(image: Image.Image, faces: list[dict], rule: VerdictRule) -> Image.Image:
    """Each face's box drawn on ``image`` in the colour of its verdict (red fake, amber uncertain, green real)."""
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(image.size) / 150))
    for f in faces:
        x, y, w, h = f["box"]
        draw.rectangle([x, y, x + w, y + h], outline=BOX_COLOURS[rule.label(f["p_fake"])], width=width)
    return image


def with_boxes(p: Prediction, rule: VerdictRule) -> Image.Image:
    """The photo with each face's box drawn."""
    return draw_boxes(Image.fromarray(decode_rgb_array(read_bytes(p.path), p.path)), p.faces or [], rule)


def _png_tag(png: bytes, alt: str, css: str = "timeline") -> Html:
    return Html(f'<img class="{css}" alt="{html.escape(alt)}" src="data:image/png;base64,'
                f'{base64.b64encode(png).decode()}">')


def video_cell(p: Prediction) -> Html:
    """A video at a glance: its most suspicious frame (boxes drawn), the P(fake) timeline of every face track,
    and the most suspicious face crops."""
    rule = details_verdict(p.video)
    frames = sampled_images(p)
    top = suspicious_faces(p)
    if top:
        index = top[0]["frame"]
        same_frame = [f for t in p.video["tracks"] for f in t["frames"] if f["frame"] == index]
        still = draw_boxes(Image.fromarray(frames[index]), same_frame, rule)
    else:
        index = max(p.video["frames"], key=lambda f: f["p_fake"])["frame"]
        still = Image.fromarray(frames[index])
    crops = "".join(_img_tag(Image.fromarray(frames[f["frame"]][f["crop"][1]:f["crop"][1] + f["crop"][3],
                                                                 f["crop"][0]:f["crop"][0] + f["crop"][2]]),
                             f"face {f['track']} at {f['time']:.1f} s: P(fake) {f['p_fake']:.2f}", "crop")
                    for f in top)
    return Html(f"{_img_tag(still, p.path or '')}{_png_tag(timeline_png(p), 'P(fake) over time')}"
                f"<div>{crops}</div>")


def _label(p: Prediction) -> Html:
    if not p.label:
        return Html("error")
    by = "<br><small>by provenance</small>" if p.reason == "provenance" else ""
    return Html(f'<span class="{p.label}">{p.label}</span>{by}')


def _provenance(p: Prediction) -> str | Html:
    """What the file says about its origin, in the words of provenance/read.py; "not read" when off. Nothing found
    (most files) is said in two words, the full sentence a hover away, so the rows that have some stand out."""
    if not p.provenance:
        return "not read"
    if p.provenance["kind"] == "none":
        return Html(f'<span title="{html.escape(p.provenance["summary"])}">none found</span>')
    return p.provenance["summary"]


def _file_cell(path: str | None) -> str | Html:
    """The file's name, its folder below it in grey (the whole path a hover away): long paths stay readable."""
    if not path:
        return ""
    where = Path(path)
    return Html(f'<span title="{html.escape(path)}">{html.escape(where.name)}</span>'
                f'<br><span class="ci">{html.escape(str(where.parent))}</span>')


def _scored(name: str, p_fake: float, rule: VerdictRule) -> str:
    """One scored region: its name and P(fake), coloured by its own verdict."""
    return f'{name} <span class="{rule.label(p_fake)}-score">{p_fake:.3f}</span>'


def regions_cell(p: Prediction, rule: VerdictRule) -> str | Html:
    """What was scored and what each part scored: every face and, for a model that also looks at the whole
    photo (framing faces+image), the photo itself, whose score can be the verdict's while every face passes."""
    if p.error is not None:
        return ""
    if p.video:
        return f"{len(p.video['tracks'])} track(s), {len(p.video['frames'])} frames"
    if p.faces is None:
        return "off"
    lines = [f"{len(p.faces)} face(s)" if p.faces else "0 faces: whole image scored"]
    lines += [_scored(f"face {i}", f["p_fake"], rule) for i, f in enumerate(p.faces, 1)]
    if p.image_p_fake is not None:
        lines.append(_scored("whole photo", p.image_p_fake, rule))
    return Html("<div class='regions'>" + "<br>".join(lines) + "</div>")


def _row(p: Prediction, rule: VerdictRule, heatmap: Path | None, explain: bool) -> list:
    if p.error is not None or not p.path:
        thumb = Html("")
    else:
        thumb = video_cell(p) if p.video else _img_tag(with_boxes(p, rule), p.path)
    row = [thumb, *([_img_tag(Image.open(heatmap), "heatmap") if heatmap else Html("")] if explain else []),
           _file_cell(p.path), p.p_fake, _label(p), regions_cell(p, rule), _provenance(p), p.error or p.warning or ""]
    return row


def summary(predictions: list[Prediction], with_uncertain: bool = False) -> dict[str, int]:
    """Counts shown at the top of the page; "uncertain" when the model has a band or some input was uncertain."""
    counts = verdict_counts(predictions)
    if not (with_uncertain or counts[UNCERTAIN]):
        del counts[UNCERTAIN]
    return {"files": len(predictions), **counts, "no face found": sum(p.faces == [] for p in predictions),
            "videos": sum(p.video is not None for p in predictions),
            "fake by provenance": sum(p.reason == "provenance" for p in predictions)}


def write_html_report(path: str | Path, predictions: list[Prediction], detector: Predictor,
                      heatmaps: dict[int, Path] | None = None) -> Path:
    """Write the page; ``heatmaps`` maps prediction index -> overlay PNG (from ``--explain``)."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise DeepfakeDetectorError(f"{path}: the report must end in .html")
    explain = heatmaps is not None
    rule = detector.verdict
    counts = summary(predictions, rule.band is not None)
    cards = "".join(f'<div class="card{" " + k if k in VERDICTS else ""}">{html.escape(k)}<b>{v}</b></div>'
                    for k, v in counts.items())
    header = ["image", *(["heatmap"] if explain else []), "file", "P(fake)", "label", "scored", "provenance", "note"]
    rows = [_row(p, rule, (heatmaps or {}).get(i), explain) for i, p in enumerate(predictions)]
    boxes = "red scored fake, amber uncertain, green real" if UNCERTAIN in counts else "red scored fake, green real"
    photo = " and the whole photo (this model's framing)" if detector.meta.framing in WITH_IMAGE else ""
    body = (_STYLE + f"<div class='cards'>{cards}</div>"
            + f"<p>Boxes: detected faces ({boxes}); image score = the largest of the scores of its faces{photo}, "
            + "each listed under <i>scored</i>. Videos: "
            + "the most suspicious frame, P(fake) over time per face track, and the most suspicious face crops. "
            + "Provenance: Content Credentials (C2PA) and generator metadata read from the file; a declaration of "
            + "AI generation labels it fake (by provenance), P(fake) stays the model's score. "
            + "Click a column header to sort.</p>" + table(header, rows) + _SORT_JS)
    model = bundled_name(detector.meta.path) or detector.meta.path or detector.meta.name
    return write_page(path, "deepfake-detector predictions",
                      f"model {model} · engine {detector.engine} · decision {rule.describe(4)} · P(fake) per image",
                      body)
