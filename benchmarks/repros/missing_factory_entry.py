"""Missed: a model class that is only built by a factory function (no example call).

Corpus cost: appending `factory()(torch.randn(2, 3, 224, 224))` for each public zero-argument
factory annotated with a local model class (torchvision `resnet18() -> ResNet`, `vgg16_bn`,
...) raises derivable mutants from 57 to 89 (+32) -- the engine already follows the factory
when it is called; it just does not use factories as entry points. timm's
`@register_model def resnet50(pretrained=False, **kwargs)` goes through the imported
`build_model_with_cfg(ResNet, ...)` (timm/models/_builder.py), so it stays unknown.
torch: tiny() raises in fc (mat1 and mat2 shapes cannot be multiplied (2x32 and 33x10)).
shape-lsp: silent -- Net is instantiated without `widths`, so layers and fc see unknowns.

torch check (not in the file: an example call would give the engine its input):
    tiny()(torch.randn(2, 3, 32, 32))
"""

import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, widths, num_classes=10):
        super().__init__()
        layers = []
        c = 3
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.ReLU()]
            c = w
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c + 1, num_classes)  # torch raises here

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def tiny(**kwargs) -> Net:
    return Net([16, 32], **kwargs)

