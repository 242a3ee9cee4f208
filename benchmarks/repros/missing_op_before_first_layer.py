"""Missed: forward whose first step is a tensor op, not a layer (x.mean, torch.split, cat).

Corpus cost: 15 sites (timm SqueezeExcite, InceptionDWConv2d, SpatialGatingUnit, mambaout
Downsample; torchvision TwoMLPHead `x.flatten(1)`) + 10 that start with `shortcut = x`.
torch: SqueezeExcite()(torch.randn(2, 32, 8, 8)) raises in conv_expand (expected input to
have 9 channels, but got 8). shape-lsp: silent -- discovery takes the input from the first
layer x reaches, and x.mean(...) comes first, so the model is not run.

torch check (not in the file: an example call would give the engine its input):
    SqueezeExcite()(torch.randn(2, 32, 8, 8))
"""

from torch import nn


class SqueezeExcite(nn.Module):
    def __init__(self, chs=32, rd=8):
        super().__init__()
        self.conv_reduce = nn.Conv2d(chs, rd, 1)
        self.act = nn.ReLU()
        self.conv_expand = nn.Conv2d(rd + 1, chs, 1)  # torch raises here

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = self.conv_expand(self.act(self.conv_reduce(s)))
        return x * s.sigmoid()

