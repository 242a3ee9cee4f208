"""Keras tests run Keras 3 on the torch backend only (never TensorFlow); skipped without keras."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"
