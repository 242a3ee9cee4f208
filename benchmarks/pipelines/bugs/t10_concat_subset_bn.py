"""ConcatDataset + Subset, next(iter(loader)) and BatchNorm1d."""
import torch
import torch.nn as nn
from torch.utils.data import ConcatDataset, DataLoader, Subset, TensorDataset

a = TensorDataset(torch.randn(100, 30), torch.randint(0, 2, (100,)))
b = TensorDataset(torch.randn(60, 30), torch.randint(0, 2, (60,)))
data = ConcatDataset([a, Subset(b, list(range(40)))])
loader = DataLoader(data, batch_size=25, shuffle=True)
model = nn.Sequential(
    nn.Linear(30, 48),
    nn.BatchNorm1d(30),  # BUG
    nn.ReLU(),
    nn.Linear(48, 2),
)
x, y = next(iter(loader))
out = model(x)  # ERR SH103
loss = nn.CrossEntropyLoss()(out, y)
