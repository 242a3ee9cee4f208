"""Sequence data (N, channels, length) into Conv1d."""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

signals = np.random.randn(200, 8, 100).astype(np.float32)  # BUG: signals = np.random.randn(200, 100, 8).astype(np.float32)
targets = np.random.randint(0, 2, size=200)
ds = TensorDataset(torch.from_numpy(signals), torch.from_numpy(targets))
loader = DataLoader(ds, batch_size=20)


class SignalNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(8, 16, kernel_size=5)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(16, 2)

    def forward(self, x):
        x = torch.relu(self.conv(x))  # ERR SH102
        return self.head(self.pool(x).squeeze(-1))


model = SignalNet()
for xb, yb in loader:
    out = model(xb)
    loss = nn.functional.cross_entropy(out, yb)
