"""Data pipelines (torch.utils.data, torchvision datasets/transforms, keras.datasets, tqdm)."""

from shape_lsp.core.frameworks.data.pipeline import register

__all__ = ["register"]
