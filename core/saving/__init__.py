"""Saving and loading: file formats and atomic writes, model files and checkpoints, PyTorch interop."""
