"""Grading packs: one versioned folder per pack (pack.yaml, pack.py, reference/, weak/)."""
