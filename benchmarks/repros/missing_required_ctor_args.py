"""Missed: a block whose __init__ has required size arguments (no defaults, no example call).

Corpus cost: 178 mutants whose layer is reached with the checked dim `?` (blocks analysed on
their own: input `(B, ?, H, W)`), plus many of the 64 "first layer call fails" sites.
torch: Block(16, 32)(torch.randn(2, 16, 8, 8)) raises in bn1 (running_mean should contain
32 elements not 33). shape-lsp: silent -- `out_chs` is unknown, so conv1 outputs `?`
channels and bn1(out_chs + 1) cannot be checked. Treating required int parameters as named
symbols (`out_chs`) would prove `out_chs != out_chs + 1` for any call.

torch check (not in the file: an example call would give the engine its input):
    Block(16, 32)(torch.randn(2, 16, 8, 8))
"""

from torch import nn


class Block(nn.Module):
    def __init__(self, in_chs, out_chs):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chs, out_chs, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(out_chs + 1)  # torch raises when this layer runs

    def forward(self, x):
        return self.bn1(self.conv1(x))

