"""``predict --report out.html``: one self-contained page (inline thumbnails, face boxes, heatmaps),
a table sortable by clicking its headers, and summary counts; opens offline."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from PIL import Image, ImageDraw

from deepfake_detector.data.pillow_decode import decode_rgb_array, read_bytes
from deepfake_detector.errors import DeepfakeDetectorError
from deepfake_detector.inference.prediction import Prediction
from deepfake_detector.inference.predictor import Predictor
from deepfake_detector.utils.html_page import Html, table, write_page

THUMB = 192
_STYLE = """<style>.thumb{width:auto;max-width:192px;max-height:192px;display:block}
th{cursor:pointer;user-select:none} th:after{content:" \\2195";color:#aaa} .fake{color:#b00020;font-weight:bold}
.real{color:#1b7f3b;font-weight:bold} td{vertical-align:middle;overflow-wrap:anywhere}</style>"""
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


def _img_tag(image: Image.Image, alt: str) -> Html:
    image = image.copy()
    image.thumbnail((THUMB, THUMB))
    return Html(f'<img class="thumb" alt="{html.escape(alt)}" src="{data_uri(image)}">')


def with_boxes(p: Prediction, threshold: float) -> Image.Image:
    """The photo with each face's box drawn (red: scored fake, green: real)."""
    image = Image.fromarray(decode_rgb_array(read_bytes(p.path), p.path))
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(image.size) / 150))
    for f in p.faces or []:
        x, y, w, h = f["box"]
        draw.rectangle([x, y, x + w, y + h], outline="#e0002a" if f["p_fake"] >= threshold else "#18b04a",
                       width=width)
    return image


def _label(p: Prediction) -> Html:
    return Html(f'<span class="{p.label}">{p.label}</span>' if p.label else "error")


def _row(p: Prediction, threshold: float, heatmap: Path | None, explain: bool) -> list:
    thumb = _img_tag(with_boxes(p, threshold), p.path or "") if p.error is None and p.path else Html("")
    faces = len(p.faces) if p.faces is not None else "off"
    row = [thumb, *([_img_tag(Image.open(heatmap), "heatmap") if heatmap else Html("")] if explain else []),
           p.path, p.p_fake, _label(p), faces, p.error or p.warning or ""]
    return row


def summary(predictions: list[Prediction]) -> dict[str, int]:
    """Counts shown at the top of the page."""
    return {"images": len(predictions), "fake": sum(p.label == "fake" for p in predictions),
            "real": sum(p.label == "real" for p in predictions),
            "unreadable": sum(p.error is not None for p in predictions),
            "no face found": sum(p.faces == [] for p in predictions)}


def write_html_report(path: str | Path, predictions: list[Prediction], detector: Predictor,
                      heatmaps: dict[int, Path] | None = None) -> Path:
    """Write the page; ``heatmaps`` maps prediction index -> overlay PNG (from ``--explain``)."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise DeepfakeDetectorError(f"{path}: the report must end in .html")
    explain = heatmaps is not None
    cards = "".join(f'<div class="card">{html.escape(k)}<b>{v}</b></div>' for k, v in summary(predictions).items())
    header = ["image", *(["heatmap"] if explain else []), "file", "P(fake)", "label", "faces", "note"]
    rows = [_row(p, detector.threshold, (heatmaps or {}).get(i), explain) for i, p in enumerate(predictions)]
    body = (_STYLE + f"<div class='cards'>{cards}</div>"
            + "<p>Boxes: detected faces (red scored fake, green real); image score = max over its faces. "
            + "Click a column header to sort.</p>" + table(header, rows) + _SORT_JS)
    model = detector.meta.get("path") or detector.meta.get("model", {}).get("name", "")
    return write_page(path, "deepfake-detector predictions",
                      f"model {model} · decision threshold {detector.threshold:.4f} · P(fake) per image", body)
