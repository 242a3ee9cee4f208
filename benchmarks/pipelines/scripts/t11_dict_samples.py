"""A Dataset that returns dicts; the batch's "image" goes to the model."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset


class Patches(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"image": torch.randn(4, 16, 16), "mask": torch.zeros(16, 16, dtype=torch.long)}


class Segmenter(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(4, 8, 3, padding=1)  # BUG: self.enc = nn.Conv2d(3, 8, 3, padding=1)
        self.dec = nn.Conv2d(8, 3, 1)

    def forward(self, x):
        return self.dec(torch.relu(self.enc(x)))  # ERR SH102


loader = DataLoader(Patches(64), batch_size=8)
net = Segmenter()
for batch in loader:
    logits = net(batch["image"])
    loss = nn.functional.cross_entropy(logits, batch["mask"])
