"""Missed: a module whose forward takes two tensors (cells, attention with feat_size, ...).

Corpus cost: 47 sites (timm mvitv2 MultiScaleAttention*, nasnet CellStem1/FirstCell, coat
ConvRelPosEnc, ...) + 9 whose single input is a dict/list (lraspp LRASPPHead, deeplabv3).
torch: Cell()(torch.randn(2, 8, 16, 16), torch.randn(2, 8, 16, 16)) raises in `proj`
(expected input to have 16 channels, but got 17 ... i.e. 16 != 17). shape-lsp: silent --
no input is discovered for a two-tensor forward whose first layer comes after a cat.

torch check (not in the file: an example call would give the engine its input):
    Cell()(torch.randn(2, 8, 16, 16), torch.randn(2, 8, 16, 16))
"""

import torch
from torch import nn


class Cell(nn.Module):
    def __init__(self, chs=8):
        super().__init__()
        self.left = nn.Conv2d(chs, chs, 1)
        self.proj = nn.Conv2d(2 * chs + 1, chs, 1)  # torch raises here

    def forward(self, x, x_prev):
        x = self.left(x)
        return self.proj(torch.cat([x, x_prev], dim=1))

