"""The upload page served at ``/``: pick a photo or a video, see the verdict, P(fake), faces, provenance and the
heatmap; a video plays beside its P(fake) timeline."""

from __future__ import annotations

import html
from pathlib import Path

from deepfake_detector.models.meta import COMBINED, ModelMeta

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>deepfake-detector</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:760px;margin:2em auto;padding:0 1em;color:#222}
#verdict{font-size:1.8em;font-weight:bold;margin:.5em 0} .fake{color:#b00020} .real{color:#1b7f3b}
.uncertain{color:#7a4a00;background:#ffe8a3;border-left:6px solid #f0a000;padding:.2em .5em;border-radius:4px}
.err{color:#a04000} img{max-width:100%;border-radius:6px} small{color:#666}
[hidden]{display:none !important}</style></head><body>
<h1>Is this face real or generated?</h1>
<form id="form"><input type="file" id="file" name="file" accept="image/*,video/*" required>
<label><input type="checkbox" id="faces" checked> find faces</label>
<button type="submit" id="go">Check</button></form>
<div id="verdict"></div><p id="unsure" class="uncertain" hidden></p><div id="details"></div>
<p id="provenance"></p>
<div id="clip" hidden style="display:flex;gap:1em;flex-wrap:wrap;align-items:center">
<video id="player" controls muted style="max-width:360px"></video><img id="timeline" alt="P(fake) over time"
 style="max-width:380px"></div><img id="heatmap" alt="" hidden>
<p><small>Heatmap: Grad-CAM (LayerCAM for vision transformers) of the model's decision. Scores are P(fake)
from MODEL_NOTE; treat them as evidence, not proof.</small></p>
<script>
document.getElementById("form").addEventListener("submit", async function (ev) {
  ev.preventDefault();
  var verdict = document.getElementById("verdict"), details = document.getElementById("details");
  var img = document.getElementById("heatmap"), file = document.getElementById("file").files[0];
  if (!file) return;
  var clip = document.getElementById("clip"), player = document.getElementById("player");
  verdict.textContent = "checking\\u2026"; verdict.className = ""; details.textContent = ""; img.hidden = true;
  var provenance = document.getElementById("provenance"); provenance.textContent = "";
  document.getElementById("unsure").hidden = true;
  clip.hidden = true; if (player.src) URL.revokeObjectURL(player.src);
  var body = new FormData(); body.append("file", file);
  var faces = document.getElementById("faces").checked ? "auto" : "off";
  try {
    var r = await fetch("/v1/predict?explain=true&faces=" + faces, {method: "POST", body: body});
    var j = await r.json();
    if (!r.ok) { verdict.textContent = "error: " + j.error; verdict.className = "err"; return; }
    verdict.textContent = j.label.toUpperCase() + "  (P(fake) = " + j.p_fake.toFixed(3) + ")";
    verdict.className = j.label;
    if (j.reason === "provenance") verdict.textContent += "  \\u2014 by provenance";
    provenance.textContent = j.provenance ? "Provenance: " + j.provenance.summary
      + (j.reason === "provenance" ? ". The file declares AI generation, so it is labelled fake; P(fake) is the "
         + "model's own score." : ".") : "Provenance: not read.";
    var unsure = document.getElementById("unsure"), band = j.uncertain;
    unsure.hidden = j.label !== "uncertain";
    if (band) unsure.textContent = "Uncertain: P(fake) is between " + band.low.toFixed(3) + " and "
      + band.high.toFixed(3) + ", the range in which this model's verdicts on validation images were too often "
      + "wrong to call a photo real or fake.";
    var n = j.faces === null ? "face search off" : j.faces.length + " face(s)";
    if (j.image_p_fake !== null && j.image_p_fake !== undefined)
      n += ", whole photo P(fake) " + j.image_p_fake.toFixed(3);
    if (j.video) {
      n = j.video.frames.length + " frames, " + j.video.tracks.length + " face track(s), " + j.video.aggregate;
      player.src = URL.createObjectURL(file);
      document.getElementById("timeline").src = "data:image/png;base64," + j.timeline_png;
      clip.hidden = false;
    }
    details.textContent = n + " \\u00b7 threshold " + j.threshold.toFixed(3) + " \\u00b7 model " + j.model
      + (j.warning ? " \\u00b7 " + j.warning : "");
    if (j.heatmap_png) { img.src = "data:image/png;base64," + j.heatmap_png; img.hidden = false; }
  } catch (e) { verdict.textContent = "error: " + e; verdict.className = "err"; }
});
</script></body></html>"""


def model_note(meta: ModelMeta) -> str:
    """The served model in words, from its model.json: run name, architecture and training data (folder names,
    not the trainer's paths)."""
    arch = meta.model.name if meta.model else "detector"
    if arch == COMBINED:
        arch = "the larger of " + " and ".join(str(m.get("name")) for m in meta.model.args.get("members", []))
    name = f"the model {meta.run_name} ({arch})" if meta.run_name else f"a {arch} model"
    data = meta.training.data if meta.training else None
    if not data:
        return name
    return f"{name} trained on {' + '.join(Path(part).name for part in str(data).split(' + '))}"


def upload_page(meta: ModelMeta) -> str:
    """The page, its footnote describing the model served (``meta``: its model.json)."""
    return PAGE.replace("MODEL_NOTE", html.escape(model_note(meta)))
