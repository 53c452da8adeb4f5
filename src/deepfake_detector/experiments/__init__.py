"""Experiments above training and evaluation: recipes trained and evaluated side by side (compare)."""
