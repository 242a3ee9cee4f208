"""Missed: forward that first unpacks the input's shape (`B, N, C = x.shape`), then uses layers.

Corpus cost: 37 sites (attention blocks: timm eva EvaAttention, swin_v2 WindowAttention,
twins, efficientvit LiteMLA, mobilevit, csatv2 LearnableDct2d, ...).
torch: Attention()(torch.randn(2, 49, 64)) raises in proj (mat1 and mat2 shapes cannot be
multiplied (98x64 and 65x64)). shape-lsp: silent -- the input is not discovered (the
first use of x is the unpack, not a layer), so the model is not run at all.

torch check (not in the file: an example call would give the engine its input):
    Attention()(torch.randn(2, 49, 64))
"""

from torch import nn


class Attention(nn.Module):
    def __init__(self, dim=64, heads=4):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim + 1, dim)  # torch raises here

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q @ k.transpose(-2, -1)).softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)

