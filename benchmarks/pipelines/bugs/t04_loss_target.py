"""Class-index targets from the loader into the loss."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

features = torch.randn(300, 12)
labels = torch.randint(0, 5, (300,))
loader = DataLoader(TensorDataset(features, labels), batch_size=50, drop_last=True)
model = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 5))
criterion = nn.BCEWithLogitsLoss()  # BUG
for x, y in loader:
    logits = model(x)
    loss = criterion(logits, y)  # ERR SH117
