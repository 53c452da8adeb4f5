"""Experiments above training and evaluation: recipes trained and evaluated side by side (compare),
and what `make demo` shows (demo)."""
