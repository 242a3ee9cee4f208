"""False positive SH109 (error): torch.as_tensor of a nested-tuple element after an
`isinstance` normalisation branch is treated as a 0-d tensor.

Distilled from torchvision/models/detection/anchor_utils.py (AnchorGenerator.__init__ +
generate_anchors), which shape-lsp flags 4 times (lines 70-71) in the unmodified corpus.
torch: `Anchors().cell` is [torch.Size([3, 1])] -- the branch is not taken (sizes[0] is a
tuple), `s` is (32, 64, 128), `torch.as_tensor(s)` has shape (3,).
shape-lsp: `27: SH109 too many indices for tensor of dimension 0: () indexed with 1`.
Removing the `if not isinstance(...)` branch, or replacing it by `if False:`, silences it;
so does `sizes = sizes` in the branch; `tuple([...])` instead of the generator does not.
torch check:
    [c.shape for c in Anchors().cell]
Expected: the isinstance test decided (or both paths joined to unknown), never a 0-d guess.
"""

import torch
from torch import nn


class Anchors(nn.Module):
    def __init__(self, sizes=((32, 64, 128),), ratios=((0.5, 1.0, 2.0),)):
        super().__init__()
        if not isinstance(sizes[0], (list, tuple)):
            sizes = tuple((s,) for s in sizes)
        self.cell = [self.generate(s, r) for s, r in zip(sizes, ratios, strict=True)]

    def generate(self, scales, aspect_ratios):
        scales = torch.as_tensor(scales, dtype=torch.float32)
        return scales[:, None]

    def forward(self, x):
        return x


if __name__ == "__main__":
    print([c.shape for c in Anchors().cell])
