"""Write the provenance test fixtures (tests/fixtures/provenance/): tiny synthetic images that carry C2PA
manifests signed with c2pa-python's test certificate, generator metadata, and hostile metadata.

    .venv/bin/python scripts/make_provenance_fixtures.py

Pixels are synthetic (seeded noise and gradients, never a photo). The pixels and metadata are the same on
every run; signed files differ in their signatures and manifest ids (ECDSA and C2PA use fresh randomness),
not in what a reader finds. The certificate and key are c2pa-python's
test fixtures (tests/fixtures/es256_*, MIT or Apache-2.0, see LICENSE-c2pa-python-MIT.txt); they are for
tests only and chain to no public root.
"""

from __future__ import annotations

import io
import json
from fractions import Fraction
from pathlib import Path

import av
import c2pa
import numpy as np
from PIL import Image, PngImagePlugin

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "provenance"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
A1111 = ("portrait photo of a person, studio light\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, "
         "CFG scale: 7, Seed: 1234, Size: 64x64, Model hash: 0123456789, Model: sd_xl_base_1.0")
COMFY_PROMPT = {"3": {"class_type": "KSampler", "inputs": {"seed": 1234, "steps": 20}},
                "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}}}
COMFY_WORKFLOW = {"last_node_id": 4, "nodes": [{"id": 3, "type": "KSampler"}], "links": []}
XMP = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
       f'Iptc4xmpExt:DigitalSourceType="{IPTC}trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>')
OVERSIZED_XMP = 600 * 1024  # bytes of XMP (compressed in the file to ~1 KB): over the reader's 512 KiB limit


def pixels(seed: int, size: int = 64) -> np.ndarray:
    """A smooth colour gradient plus seeded noise: compresses to a few KB."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size)
    base = np.stack([np.add.outer(ramp, ramp) / 2, np.tile(ramp, (size, 1)), np.full((size, size), 128.0)], -1)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def encode(image: np.ndarray, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, fmt, **params)
    return buf.getvalue()


def signer() -> c2pa.Signer:
    info = c2pa.C2paSignerInfo(b"es256", (OUT / "es256_certs.pem").read_bytes(),
                               (OUT / "es256_private.key").read_bytes(), None)  # no timestamp server: offline
    return c2pa.Signer.from_info(info)


def manifest(generator: str, action: str, source_type: str | None, **extra) -> dict:
    act = {"action": action, **({"digitalSourceType": IPTC + source_type} if source_type else {}), **extra}
    return {"claim_generator_info": [{"name": generator, "version": "1.0"}], "title": "fixture",
            "assertions": [{"label": "c2pa.actions", "data": {"actions": [act]}}]}


def sign(data: bytes, mime: str, definition: dict, ingredient: bytes | None = None, remote: str | None = None) -> bytes:
    context = c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})
    with signer() as s, c2pa.Builder(definition, context) as builder:
        if ingredient is not None:
            builder.add_ingredient({"title": "parent.jpg", "relationship": "parentOf", "label": "parent"},
                                   mime, io.BytesIO(ingredient))
        if remote is not None:
            builder.set_no_embed()
            builder.set_remote_url(remote)
        out = io.BytesIO()
        builder.sign(s, mime, io.BytesIO(data), out)
    return out.getvalue()


def tampered(signed: bytes) -> bytes:
    """One pixel-data byte changed after signing (the image still decodes; the data hash no longer matches)."""
    data = bytearray(signed)
    k = len(data) - 40
    while 0xFF in (data[k - 1], data[k], data[k] ^ 0x01):
        k -= 1
    data[k] ^= 0x01
    return bytes(data)


def malformed(signed: bytes) -> bytes:
    """Bytes inside the manifest store scrambled: the JUMBF boxes no longer parse."""
    data = bytearray(signed)
    start = data.index(b"c2pa") + 200
    data[start:start + 60] = bytes(b ^ 0x55 for b in data[start:start + 60])
    return bytes(data)


def missing_ingredient(edited: bytes) -> bytes:
    """The parent's manifest relabelled: the edit's ingredient now points at a manifest that is not there."""
    with c2pa.Reader("image/jpeg", io.BytesIO(edited)) as reader:
        store = json.loads(reader.json())
    parent = next(label for label in store["manifests"] if label != store["active_manifest"]).encode()
    first = edited.index(parent)
    return edited[:first] + parent[:-4] + b"dead" + edited[first + len(parent):]


def png_with_text(image: np.ndarray, chunks: dict[str, str], compressed: bool = False) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_itxt(key, value, zip=True) if compressed else info.add_text(key, value)
    return encode(image, "PNG", pnginfo=info)


def jpeg_with_exif(image: np.ndarray, tags: dict[int, str | bytes], user_comment: str | None = None) -> bytes:
    exif = Image.Exif()
    for tag, value in tags.items():
        exif[tag] = value
    if user_comment is not None:  # as AUTOMATIC1111 writes it (piexif's "unicode": UTF-16, big-endian)
        exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + user_comment.encode("utf-16-be")
    return encode(image, "JPEG", quality=85, exif=exif.tobytes())


def video(seed: int) -> bytes:
    """A 16-frame 64x64 H.264 MP4."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=8, options={"preset": "veryfast"})
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 8)
        for i in range(16):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.roll(pixels(seed), 2 * i, 1), format="rgb24")))
        container.mux(stream.encode())
    return buf.getvalue()


def fixtures() -> dict[str, bytes]:
    ai_jpeg = sign(encode(pixels(1), "JPEG", quality=85), "image/jpeg",
                   manifest("TestGen AI", "c2pa.created", "trainedAlgorithmicMedia"))
    edited = sign(ai_jpeg, "image/jpeg", manifest("TestEditor", "c2pa.opened", None,
                                                  parameters={"ingredientIds": ["parent"]}), ingredient=ai_jpeg)
    return {
        "c2pa-ai.jpg": ai_jpeg,
        "c2pa-ai.png": sign(encode(pixels(2), "PNG"), "image/png",
                            manifest("TestGen AI", "c2pa.created", "trainedAlgorithmicMedia")),
        "c2pa-capture.jpg": sign(encode(pixels(3), "JPEG", quality=85), "image/jpeg",
                                 manifest("TestCam", "c2pa.created", "digitalCapture")),
        "c2pa-edited-ai.jpg": edited,
        "c2pa-ai-tampered.jpg": tampered(ai_jpeg),
        "c2pa-ai-stripped.jpg": encode(np.asarray(Image.open(io.BytesIO(ai_jpeg)).convert("RGB")), "JPEG", quality=85),
        "c2pa-malformed.jpg": malformed(ai_jpeg),
        "c2pa-missing-ingredient.jpg": missing_ingredient(edited),
        "c2pa-remote.jpg": sign(encode(pixels(4), "JPEG", quality=85), "image/jpeg",
                                manifest("TestGen AI", "c2pa.created", "trainedAlgorithmicMedia"),
                                remote="http://127.0.0.1:9/never-fetched.c2pa"),
        "c2pa-ai.mp4": sign(video(5), "video/mp4", manifest("TestGen AI", "c2pa.created", "trainedAlgorithmicMedia")),
        "a1111.png": png_with_text(pixels(6), {"parameters": A1111}),
        "comfyui.png": png_with_text(pixels(7), {"prompt": json.dumps(COMFY_PROMPT),
                                                 "workflow": json.dumps(COMFY_WORKFLOW)}),
        "a1111-exif.jpg": jpeg_with_exif(pixels(8), {}, user_comment=A1111),
        "novelai-software.jpg": jpeg_with_exif(pixels(9), {0x0131: "NovelAI"}),
        "camera.jpg": jpeg_with_exif(pixels(10), {0x010F: "Canon", 0x0110: "Canon EOS R5",
                                                  0x0131: "Adobe Photoshop 25.0"}),
        "xmp-ai.jpg": encode(pixels(11), "JPEG", quality=85, xmp=XMP.encode()),
        "xmp-oversized.png": png_with_text(pixels(12), {"XML:com.adobe.xmp": XMP + " " * OVERSIZED_XMP},
                                           compressed=True),
        "plain.jpg": encode(pixels(13), "JPEG", quality=85),
    }


def main() -> None:
    for name, data in fixtures().items():
        (OUT / name).write_bytes(data)
        print(f"{name}: {len(data):,} bytes")


if __name__ == "__main__":
    main()
