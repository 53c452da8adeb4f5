"""Screen, on a CPU, whether the default's CLIP member gains from a trained copy of its last encoder block.

    python scripts/screen_branch_block.py extract train  /work/exp/side/train
    python scripts/screen_branch_block.py extract valid  /work/exp/side/valid
    python scripts/screen_branch_block.py train /work/exp/side --block-lr 2e-5 --head-lr 1e-4 --epochs 2
    python scripts/screen_branch_block.py extract valid-processed /work/exp/side/valid-processed
    python scripts/screen_branch_block.py extract train-more-processing /work/exp/side/train-more-processing
    python scripts/screen_branch_block.py train /work/exp/side --epochs 2 \
        --more-processing /work/exp/side/train-more-processing

Fine-tuning encoder blocks needs a GPU for the full forward pass; this screen needs none. ``extract`` runs the
member (``runs/clip-grafted``) once over each view of a split of ``runs/fixed-1.5/splits.csv`` (the views
``configs/clip-detector.yaml`` trains on: whole image, its face crop, one seeded processing history, the SDXL
tiles' history; validation: whole image and face crop, predict's framing; ``valid-processed``: the validation reals
after each of the model card's processing steps, whole image and face crop; ``train-more-processing``: two more
seeded processing histories of the training photos) under bf16 autocast (~6.6 img/s on 2
Zen 4 cores) and caches block 12's input tokens and the layer-normalised class tokens of blocks 5-12. ``train``
adds a copy of block 12 beside the original, whose class token is a ninth feature slice of the generated-faces
head (zero weights at the start, so the start is the member itself; the blended-face head keeps its features),
and trains the copy and that head on the cached tokens, sources x classes balanced (~31 rows/s in bf16;
``--more-processing``: on the two further processing histories too), saving both after each epoch
(``FOLDER/branch-epochN.pt``). After each epoch it prints the validation figures under the default's policy
(``choose_threshold``, as ``calibrate``; a photo's logit is the mean of its whole-image and face-crop logits): the
fakes caught and reals flagged per source, the validation reals flagged after each of the model card's processing
steps (``valid-processed``), and the fakes caught with those held to 2% too (``calibrate --processed-reals``).
"""

from __future__ import annotations

import argparse
import collections
import copy
import functools
import json
import time
from pathlib import Path

import numpy as np
import torch
from screen_heads_processed import STEPS as PROCESSED_STEPS
from screen_heads_processed import flagged, policy_threshold
from sklearn.metrics import roc_auc_score
from torch import nn

from deepfake_detector.config import load_config
from deepfake_detector.data.dataset import ImageDataset, make_loader
from deepfake_detector.data.histories import parse_histories
from deepfake_detector.data.perturb import compose, parse_perturbations
from deepfake_detector.data.processing import view_name
from deepfake_detector.data.splits import read_splits
from deepfake_detector.data.transforms import build_transform
from deepfake_detector.models.artifacts import load_model
from deepfake_detector.training.face_view import FaceCropView
from deepfake_detector.training.finetune import _process

MEMBER = "runs/clip-grafted"
SPLITS = "runs/fixed-1.5/splits.csv"
RECIPE = "configs/clip-detector.yaml"
WIDTH, TOKENS, FIRST_BLOCK, LAST_BLOCK = 768, 197, 5, 12
PROCESSING = ["jpeg:50", "resize:0.5", "blur:1"]  # the model card's steps (evaluate --perturb)


def _views(split: str) -> dict:
    if split == "valid-processed":
        return {f"{p.kind}{p.strength:g}-{view}": compose(p, FaceCropView()) if view == "faces" else p
                for p in parse_perturbations(PROCESSING) for view in ("clean", "faces")}
    cfg = load_config(RECIPE)
    seed, process = cfg.train.seed, cfg.augment.process
    if split == "train-more-processing":
        return {view_name(process, v, seed): functools.partial(_process, cfg=process, seed=seed, view=v)
                for v in (1, 2)}
    views = {"clean": None, "faces": FaceCropView()}
    if split == "train":
        views[view_name(process, 0, seed)] = functools.partial(_process, cfg=process, seed=seed, view=0)
        views.update({h.view_name: h for h in parse_histories(cfg.augment.histories)})
    return views


def extract(split: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    samples = read_splits(SPLITS)[split.removesuffix("-processed").removesuffix("-more-processing")]
    if split == "valid-processed":
        samples = [s for s in samples if s.label == 0]
    model, _ = load_model(MEMBER)
    vit = model.eval().backbone.vit
    for name, perturb in _views(split).items():
        if (out / f"{name}.npz").exists():
            continue
        data = ImageDataset(samples, model.preprocess, build_transform(model.preprocess), cache=False,
                            progress=False, perturb=perturb)
        tokens = np.lib.format.open_memmap(out / f"{name}.tokens.npy", mode="w+", dtype=np.float16,
                                           shape=(len(samples), TOKENS, WIDTH))
        cls = np.zeros((len(samples), (LAST_BLOCK - FIRST_BLOCK + 1) * WIDTH), np.float32)
        ok = np.zeros(len(samples), bool)
        start, done = time.time(), 0
        for batch in make_loader(data, 16, shuffle=False, num_workers=1, seed=0):
            if batch["image"] is None:
                continue
            rows = batch["index"].numpy()
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
                x = vit.norm_pre(vit._pos_embed(vit.patch_embed(batch["image"])))
                read = []
                for i, block in enumerate(vit.blocks, start=1):
                    if i == LAST_BLOCK:
                        tokens[rows] = x.float().numpy().astype(np.float16)
                    x = block(x)
                    if i >= FIRST_BLOCK:
                        read.append(nn.functional.layer_norm(x[:, 0].float(), (WIDTH,)))
            cls[rows], ok[rows] = torch.cat(read, 1).numpy(), True
            done += len(rows)
            print(f"{split} {name}: {done}/{len(samples)} ({done / (time.time() - start):.1f} img/s)", flush=True)
        tokens.flush()
        np.savez(out / f"{name}.npz", cls=cls, ok=ok, labels=np.array([s.label for s in samples]),
                 sources=np.array([s.source for s in samples]))


def _load(folder: Path) -> dict[str, dict]:
    return {p.name[:-4]: dict(np.load(p)) | {"tokens": np.load(p.with_suffix(".tokens.npy"), mmap_mode="r")}
            for p in sorted(folder.glob("*.npz"))}


class BranchedMember(nn.Module):
    """The member's max2 head over its cached class tokens plus the branch's class token."""

    def __init__(self) -> None:
        super().__init__()
        model, _ = load_model(MEMBER)
        heads = model.head
        self.branch = copy.deepcopy(model.backbone.vit.blocks[LAST_BLOCK - 1]).float()
        n_read = (LAST_BLOCK - FIRST_BLOCK + 1) * WIDTH
        self.generated = nn.Linear(n_read + WIDTH, 1)
        with torch.no_grad():
            self.generated.weight.zero_()
            self.generated.weight[:, :n_read] = heads.generated[1].weight
            self.generated.bias.copy_(heads.generated[1].bias)
        self.blended = heads.blended[1].requires_grad_(False)
        self.scale, self.offset = heads.generated_scale, heads.blended_offset

    def forward(self, cls: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the member's logit, the generated head's own logit)."""
        with torch.autocast("cpu", dtype=torch.bfloat16):
            branch = self.branch(tokens)[:, 0].float()
        generated = self.generated(torch.cat([cls, nn.functional.layer_norm(branch, (WIDTH,))], 1))[:, 0]
        return torch.maximum(generated * self.scale, self.blended(cls)[:, 0] - self.offset), generated


@torch.no_grad()
def _logits(member: BranchedMember, views: list[dict]) -> np.ndarray:
    """A photo's logit: the mean over its cached views (whole image and face crop) of the member's logit."""
    member.eval()
    out = [torch.cat([member(torch.from_numpy(d["cls"][s:s + 64]),
                             torch.from_numpy(d["tokens"][s:s + 64].astype(np.float32)))[0]
                      for s in range(0, len(d["cls"]), 64)]).numpy() for d in views]
    member.train()
    return sum(out) / len(out)


def validation_figures(member: BranchedMember, valid: dict[str, dict], processed: dict[str, dict]) -> dict:
    """At the default's policy (``choose_threshold``, as ``calibrate``): fakes caught per source, ROC-AUC, the
    validation reals flagged after each processing step; then the fakes caught with those held to it too."""
    photo = _logits(member, [valid["clean"], valid["faces"]])
    y, source = valid["clean"]["labels"].astype(int), valid["clean"]["sources"]
    after = {step: (_logits(member, [processed[f"{step}-clean"], processed[f"{step}-faces"]]),
                    processed[f"{step}-clean"]["sources"]) for step in PROCESSED_STEPS}
    point = policy_threshold(y, photo, source)
    held = policy_threshold(y, photo, source, after)
    out = {"threshold_logit": round(point, 3), "tpr": round(float((photo[y == 1] >= point).mean()), 3),
           "roc_auc": round(float(roc_auc_score(y, photo)), 4),
           "140k roc_auc": round(float(roc_auc_score(y[source == "140k"], photo[source == "140k"])), 4)}
    for s in sorted(set(source)):
        for label, verdict in ((1, "fakes caught"), (0, "reals flagged")):
            rows = (source == s) & (y == label)
            if rows.any():
                out[f"{s} {verdict}"] = round(float((photo[rows] >= point).mean()), 3)
    out |= {f"reals flagged after {step} (worst source)": flagged(*after[step], point) for step in PROCESSED_STEPS}
    out["tpr, processed reals held to 2% too"] = round(float((photo[y == 1] >= held).mean()), 3)
    return out


def train(folder: Path, block_lr: float, head_lr: float, epochs: int, more_processing: Path | None,
          batch_size: int = 32) -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    member = BranchedMember()
    data, valid = _load(folder / "train"), _load(folder / "valid")
    data |= _load(more_processing) if more_processing else {}
    processed = _load(folder / "valid-processed")
    rows = [(v, i) for v, d in data.items() for i in np.flatnonzero(d["ok"])]
    groups = [(data[v]["sources"][i], data[v]["labels"][i]) for v, i in rows]
    counts = collections.Counter(groups)
    weights = np.array([1.0 / counts[g] for g in groups])
    print(json.dumps({"epoch": "start"} | validation_figures(member, valid, processed)), flush=True)
    optimizer = torch.optim.AdamW([{"params": member.branch.parameters(), "lr": block_lr},
                                   {"params": member.generated.parameters(), "lr": head_lr}], weight_decay=0.01)
    steps = len(rows) // batch_size
    for epoch in range(1, epochs + 1):
        drawn = rng.choice(len(rows), size=steps * batch_size, p=weights / weights.sum())
        total = 0.0
        for step in range(steps):
            batch = [rows[k] for k in drawn[step * batch_size:(step + 1) * batch_size]]
            cls = torch.from_numpy(np.stack([data[v]["cls"][i] for v, i in batch]))
            tokens = torch.from_numpy(np.stack([data[v]["tokens"][i] for v, i in batch]).astype(np.float32))
            labels = torch.tensor([float(data[v]["labels"][i]) for v, i in batch])
            loss = nn.functional.binary_cross_entropy_with_logits(member(cls, tokens)[1], labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        print(json.dumps({"epoch": epoch, "train_loss": round(total / steps, 5)}
                         | validation_figures(member, valid, processed)), flush=True)
        torch.save({"branch": member.branch.state_dict(), "generated": member.generated.state_dict()},
                   folder / f"branch-epoch{epoch}.pt")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    ex = sub.add_parser("extract", help="cache one split's tokens")
    ex.add_argument("split", choices=["train", "valid", "valid-processed", "train-more-processing"])
    ex.add_argument("out", type=Path)
    tr = sub.add_parser("train", help="train the branch on the cached tokens (FOLDER/train, FOLDER/valid)")
    tr.add_argument("folder", type=Path)
    tr.add_argument("--block-lr", type=float, default=2e-5)
    tr.add_argument("--head-lr", type=float, default=1e-4)
    tr.add_argument("--epochs", type=int, default=2)
    tr.add_argument("--more-processing", type=Path,
                    help="the train-more-processing cache: train on its two processing histories too")
    args = parser.parse_args(argv)
    if args.step == "extract":
        extract(args.split, args.out)
    else:
        train(args.folder, args.block_lr, args.head_lr, args.epochs, args.more_processing)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
