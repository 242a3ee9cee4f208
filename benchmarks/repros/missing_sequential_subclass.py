"""Missed: `class ConvNorm(nn.Sequential)` that registers children as attributes (no forward).

Corpus cost: 54 constructor sites (timm ConvNorm/NormLinear in efficientvit_msra, iformer,
repvit, shvit, tiny_vit; Stem4, DenseTransition; torchvision R2Plus1dStem ...).
torch: nn.Sequential.forward runs the children in registration order, so
Net()(torch.randn(2, 3, 32, 32)) raises in `stem.bn` (running_mean should contain 16
elements not 17). shape-lsp: silent -- the subclass is neither run as a container nor as a
model with a forward.

torch check (not in the file: an example call would give the engine its input):
    Net()(torch.randn(2, 3, 32, 32))
"""

from torch import nn


class ConvNorm(nn.Sequential):
    def __init__(self, in_chs=3, out_chs=16):
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_chs + 1)  # torch raises here


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = ConvNorm(3, 16)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        return self.head(x.mean((2, 3)))

