"""Read what a file says about its own origin, offline: C2PA Content Credentials (c2pa-python), PNG text
chunks, EXIF ``Software``/``Make``/``Model``/``UserComment`` and XMP ``DigitalSourceType``/``CreatorTool``.

A data-level reader: it knows nothing of models or verdicts (``provenance/combine.py`` holds the rule).
Hostile metadata never raises: each problem becomes a one-line warning. Nothing is fetched over the network
(remote manifests, OCSP and every network host are switched off in the C2PA settings).

Trust list: none by default, so a "valid" manifest means its signature and hashes check out, not that the
signer is known; ``DEEPFAKE_DETECTOR_TRUST_ANCHORS`` (a PEM file of root certificates) makes signers that
chain to one of them "trusted" (docs/provenance.md).
"""

from __future__ import annotations

import io
import json
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, Any

from PIL import Image, UnidentifiedImageError

from deepfake_detector.errors import ConfigError, first_line
from deepfake_detector.provenance.markers import (
    AI_SOURCE_TYPES,
    CAPTURE_SOURCE_TYPES,
    MARKERS,
    source_type_name,
)

TRUST_ANCHORS_ENV = "DEEPFAKE_DETECTOR_TRUST_ANCHORS"
XMP_LIMIT = 512 * 1024  # bytes: a larger XMP packet is not searched (real ones are a few KB to ~100 KB)
SHOWN = 80  # characters of a marker's value kept in the result
_EXIF_TAGS = {0x0131: "Software", 0x010F: "Make", 0x0110: "Model"}
_EXIF_IFD, _USER_COMMENT = 0x8769, 0x9286
_XMP_SOURCE_TYPE = re.compile(rb'DigitalSourceType\s*(?:=\s*["\']([^"\']*)["\']|>\s*([^<]*?)\s*<|'
                              rb'\s+rdf:resource\s*=\s*["\']([^"\']*)["\'])')
_XMP_CREATOR_TOOL = re.compile(rb'CreatorTool\s*(?:=\s*["\']([^"\']*)["\']|>\s*([^<]*?)\s*<)')
VALID_STATES = ("valid", "trusted")


@dataclass(frozen=True)
class Found:
    """One marker found in a file (a row of ``provenance/markers.py``'s table, with the value read)."""

    where: str
    value: str
    tool: str
    declares_ai: bool


@dataclass(frozen=True)
class C2paFinding:
    """What the C2PA reader said. ``state``: none, valid, trusted, invalid, unreadable, remote (manifest kept
    elsewhere, not fetched), unsupported (a format C2PA cannot hold) or unavailable (c2pa-python missing)."""

    state: str
    claim_generator: str | None = None
    signer: str | None = None
    source_types: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    ingredients: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()
    detail: str | None = None  # the reader's error line, or the remote manifest's address


@dataclass(frozen=True)
class Provenance:
    """Everything found, validated or not, and what it amounts to in plain words (``summary``).

    ``kind``: ai-generated (a valid manifest or generator metadata declares AI generation), invalid-manifest
    (Content Credentials that fail validation or cannot be read), capture (a valid manifest declaring a
    camera capture), edited (a valid manifest without a capture or AI source), metadata (other markers,
    e.g. a camera's EXIF Make), none.
    """

    kind: str
    found: bool
    declares_ai: bool
    evidence: str | None  # what declares AI generation, when something does
    c2pa: str  # C2paFinding.state
    trust_list: str | None  # the PEM file of trust anchors in use; None: no trust list
    claim_generator: str | None = None
    signer: str | None = None
    digital_source_types: list[str] = field(default_factory=list)  # from C2PA actions and XMP
    actions: list[str] = field(default_factory=list)
    ingredients: list[str] = field(default_factory=list)
    validation_failures: list[str] = field(default_factory=list)
    markers: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def trust_anchors_path() -> str | None:
    """The trust anchors PEM named by ``DEEPFAKE_DETECTOR_TRUST_ANCHORS``, or None."""
    return os.environ.get(TRUST_ANCHORS_ENV) or None


@cache
def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError:  # optional at run time: provenance then reads PNG, EXIF and XMP only
        return None
    return c2pa


@cache
def _context(anchors: str | None) -> Any:
    """C2PA reader settings: verification on, every network access off, the configured trust anchors."""
    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
                                "core": {"allowed_network_hosts": []}}
    if anchors is not None:
        try:
            settings["trust"] = {"trust_anchors": Path(anchors).read_text(encoding="utf-8")}
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{TRUST_ANCHORS_ENV}={anchors}: cannot read the trust anchors ({exc})") from None
    return _c2pa().Context.from_dict(settings)


def _claim_generator(manifest: dict) -> str | None:
    info = manifest.get("claim_generator_info") or []
    if info and isinstance(info[0], dict) and info[0].get("name"):
        return " ".join(str(info[0][k]) for k in ("name", "version") if info[0].get(k))
    return manifest.get("claim_generator")


def _actions(manifest: dict) -> Iterator[dict]:
    for assertion in manifest.get("assertions") or []:
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            yield from (a for a in (assertion.get("data") or {}).get("actions") or [] if isinstance(a, dict))


def _finding(store: dict, state: str) -> C2paFinding:
    """The parts of a manifest store (c2pa-python's JSON) a reader of the result needs."""
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest")) or {}
    sign = active.get("signature_info") or {}
    signer = sign.get("common_name") or sign.get("issuer")
    if signer and sign.get("issuer") and sign.get("issuer") != signer:
        signer = f"{signer} (issuer {sign['issuer']})"
    # every manifest of the store: an edit of an AI-generated image keeps its parent's declaration
    types = {source_type_name(str(a["digitalSourceType"])) for m in manifests.values() for a in _actions(m)
             if a.get("digitalSourceType")}
    failures = {s.get("code", "") for s in store.get("validation_status") or []} - {"signingCredential.untrusted"}
    return C2paFinding(state, _claim_generator(active), signer, tuple(sorted(types)),
                       tuple(str(a.get("action")) for a in _actions(active)),
                       tuple(str(i.get("title") or i.get("instance_id") or "?") for i in active.get("ingredients")
                             or []),
                       tuple(sorted(failures)) if state == "invalid" else ())


def read_c2pa(stream: IO[bytes], anchors: str | None = None) -> C2paFinding:
    """Read and validate the C2PA manifest store of ``stream`` (any format c2pa-python reads)."""
    c2pa = _c2pa()
    if c2pa is None:
        return C2paFinding("unavailable")
    context = _context(anchors)
    stream.seek(0)
    try:
        reader = c2pa.Reader.try_create(None, stream, context=context)
    except c2pa.C2paError.NotSupported:
        return C2paFinding("unsupported")
    except c2pa.C2paError as exc:
        if str(exc).startswith("Remote:"):  # the manifest lives at a URL (the error's last word): not fetched
            return C2paFinding("remote", detail=str(exc).rsplit(" ", 1)[-1][:200])
        return C2paFinding("unreadable", detail=first_line(exc, 200))
    if reader is None:
        return C2paFinding("none")
    with reader:
        store = json.loads(reader.json())
        state = {"Trusted": "trusted", "Valid": "valid"}.get(str(reader.get_validation_state()), "invalid")
    return _finding(store, state)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _user_comment(raw: Any) -> str:
    """EXIF UserComment: an 8-byte charset prefix, then the text (UTF-16 for "UNICODE", as piexif writes it)."""
    if not isinstance(raw, bytes):
        return str(raw)
    prefix, body = raw[:8], raw[8:]
    if prefix.startswith(b"UNICODE"):
        big = body.decode("utf-16-be", "replace")
        return big if big.isprintable() or "Steps" in big else body.decode("utf-16-le", "replace")
    return body.decode("utf-8", "replace")


@dataclass(frozen=True)
class Metadata:
    """What Pillow reads of an image's metadata: known markers, XMP digital source types, warnings."""

    found: list[Found]
    xmp_types: list[str]
    warnings: list[str]
    may_hold_c2pa: bool = True  # False: a JPEG with no APP11 segment and no XMP provenance link


def _may_hold_c2pa(image: Image.Image) -> bool:
    """C2PA embeds its manifest store in a JPEG's APP11 segments and links a remote one from XMP
    (``dcterms:provenance``); a JPEG with neither holds none, so the native reader is skipped (most photos)."""
    if image.format != "JPEG":
        return True
    xmp = image.info.get("xmp") or b""
    return any(name == "APP11" for name, _ in image.applist) or b"provenance" in _bytes(xmp)


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _xmp_values(pattern: re.Pattern[bytes], xmp: bytes) -> list[str]:
    return [next(g for g in m.groups() if g is not None).decode("utf-8", "replace").strip()
            for m in pattern.finditer(xmp)]


def _fields(image: Image.Image, problems: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """``([(where, value)], XMP digital source types)`` of an opened image; problems go to ``problems``."""
    fields: list[tuple[str, str]] = []
    if image.format == "PNG":  # text chunks before the pixels (where generators write them)
        fields += [(f"png:{k}", v) for k, v in image.info.items() if isinstance(v, str)]
    try:
        exif = image.getexif()
        fields += [(f"exif:{name}", _text(exif[tag]).strip("\x00 ")) for tag, name in _EXIF_TAGS.items()
                   if exif.get(tag)]
        comment = exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT)
        if comment:
            fields.append(("exif:UserComment", _user_comment(comment)))
    except Exception as exc:  # a corrupt EXIF block: Pillow raises many kinds
        problems.append(f"EXIF unreadable ({first_line(exc, 120)})")
    xmp = _bytes(image.info.get("xmp") or b"")
    if len(xmp) > XMP_LIMIT:
        problems.append(f"XMP packet of {len(xmp):,} bytes is over the {XMP_LIMIT // 1024} KiB limit: not read")
        return fields, []
    fields += [("xmp:CreatorTool", v) for v in _xmp_values(_XMP_CREATOR_TOOL, xmp)]
    return fields, [source_type_name(v) for v in _xmp_values(_XMP_SOURCE_TYPE, xmp) if v]


def read_metadata(stream: IO[bytes]) -> Metadata:
    """The metadata of an image; nothing for a non-image (a video: C2PA alone is read)."""
    problems: list[str] = []
    stream.seek(0)
    try:
        with warnings.catch_warnings(record=True) as caught:  # Pillow reads what it can of damaged metadata, warns
            warnings.simplefilter("always")
            with Image.open(stream) as image:
                fields, types = _fields(image, problems)
                may_hold_c2pa = _may_hold_c2pa(image)
        problems += [f"metadata damaged, read in part ({first_line(w.message, 120)})" for w in caught[:1]]
    except UnidentifiedImageError:
        return Metadata([], [], [])
    except Exception as exc:  # unreadable headers: the decoder reports the image itself
        return Metadata([], [], [f"metadata unreadable ({first_line(exc, 120)})"])
    found = []
    for where, value in fields:
        for marker in MARKERS:
            tool = marker.tool_for(value) if marker.where == where else None
            if tool is not None:
                shown = " ".join(value.split())
                found.append(Found(where, shown[:SHOWN] + ("…" if len(shown) > SHOWN else ""), tool[:SHOWN],
                                   marker.declares_ai))
                break
    return Metadata(found, types, problems, may_hold_c2pa)


def _where(found: Found) -> str:
    source, key = found.where.split(":", 1)
    return {"png": f"PNG text '{key}'", "exif": f"EXIF {key}", "xmp": f"XMP {key}"}[source]


def _c2pa_words(c2pa: C2paFinding, anchors: str | None) -> str | None:
    """The C2PA finding as one sentence; None when there is nothing to say."""
    if c2pa.state in VALID_STATES:
        if c2pa.state == "trusted":
            trust = f"signer {c2pa.signer} chains to the trust list {Path(anchors or '').name}"
        elif anchors:
            trust = f"signer {c2pa.signer} is not on the trust list {Path(anchors).name}"
        else:
            trust = f"signer {c2pa.signer}, not checked against a trust list"
        made = f"; made with {c2pa.claim_generator}" if c2pa.claim_generator else ""
        types = f"; source: {', '.join(c2pa.source_types)}" if c2pa.source_types else ""
        acts = f"; actions: {', '.join(dict.fromkeys(c2pa.actions))}" if c2pa.actions else ""
        parents = f"; ingredients: {', '.join(c2pa.ingredients)}" if c2pa.ingredients else ""
        return (f"Content Credentials (C2PA) valid: signature and hashes check out ({trust}){made}{types}{acts}"
                f"{parents}")
    return {
        "invalid": f"Content Credentials (C2PA) fail validation ({', '.join(c2pa.failures) or 'invalid'}): "
                   "changed after signing or damaged; not used for the verdict",
        "unreadable": f"Content Credentials (C2PA) present but unreadable ({c2pa.detail})",
        "remote": f"Content Credentials kept at {c2pa.detail}, not fetched (reading is offline)",
        "unavailable": "C2PA not checked (c2pa-python is not installed)",
    }.get(c2pa.state)


def conclude(c2pa: C2paFinding, found: list[Found], xmp_types: list[str], problems: list[str],
             anchors: str | None = None) -> Provenance:
    """Put the findings together: kind, what declares AI generation, the warnings and the summary."""
    valid = c2pa.state in VALID_STATES
    evidence = None
    if valid and AI_SOURCE_TYPES & set(c2pa.source_types):
        evidence = f"Content Credentials declare {', '.join(sorted(AI_SOURCE_TYPES & set(c2pa.source_types)))}"
    elif AI_SOURCE_TYPES & set(xmp_types):
        evidence = f"XMP DigitalSourceType {', '.join(sorted(AI_SOURCE_TYPES & set(xmp_types)))} (unsigned)"
    elif any(f.declares_ai for f in found):
        first = next(f for f in found if f.declares_ai)
        evidence = f"{_where(first)} ({first.tool}, unsigned)"
    if evidence:
        kind = "ai-generated"
    elif c2pa.state in ("invalid", "unreadable"):
        kind = "invalid-manifest"
    elif valid:
        kind = "capture" if CAPTURE_SOURCE_TYPES & set(c2pa.source_types) else "edited"
    else:
        kind = "metadata" if found or xmp_types or c2pa.state == "remote" else "none"
    notes = list(problems)
    if c2pa.state == "invalid":
        notes.insert(0, f"Content Credentials fail validation ({', '.join(c2pa.failures) or 'invalid'}): "
                           "changed after signing or damaged")
    elif c2pa.state == "unreadable":
        notes.insert(0, f"Content Credentials unreadable ({c2pa.detail})")
    parts = [_c2pa_words(c2pa, anchors), *(f"{_where(f)} '{f.value}' ({f.tool})" for f in found)]
    if xmp_types:
        parts.append(f"XMP DigitalSourceType {', '.join(dict.fromkeys(xmp_types))} (unsigned)")
    parts = [p for p in parts if p]
    if evidence:
        parts.append(f"declares AI generation: {evidence}")
    elif kind == "none":
        parts.append("no provenance found: no Content Credentials, no generator metadata (absence proves nothing)")
    return Provenance(kind, bool(found or xmp_types or c2pa.state not in ("none", "unsupported", "unavailable")),
                      evidence is not None, evidence, c2pa.state, anchors, c2pa.claim_generator, c2pa.signer,
                      list(dict.fromkeys([*c2pa.source_types, *xmp_types])), list(c2pa.actions),
                      list(c2pa.ingredients), list(c2pa.failures), [asdict(f) for f in found], notes,
                      "; ".join(parts))


def read_provenance(source: bytes | str | Path) -> Provenance:
    """The provenance of a file (path) or of its bytes; never raises on what the file holds."""
    anchors = trust_anchors_path()
    try:
        with (io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")) as stream:
            meta = read_metadata(stream)
            c2pa = read_c2pa(stream, anchors) if meta.may_hold_c2pa else C2paFinding("none")
    except ConfigError:
        raise
    except Exception as exc:  # the one safety net: hostile input must not stop a prediction
        return conclude(C2paFinding("unreadable", detail=first_line(exc, 200)), [], [], [], anchors)
    return conclude(c2pa, meta.found, meta.xmp_types, meta.warnings, anchors)
