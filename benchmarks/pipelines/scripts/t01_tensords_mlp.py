"""Tabular MLP trained from a TensorDataset."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

X = torch.randn(256, 20)
y = torch.randint(0, 3, (256,))
loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
model = nn.Sequential(
    nn.Linear(20, 64),  # BUG: nn.Linear(24, 64),
    nn.ReLU(),
    nn.Linear(64, 3),
)
opt = torch.optim.Adam(model.parameters())
criterion = nn.CrossEntropyLoss()
for epoch in range(2):
    for xb, yb in loader:
        opt.zero_grad()
        loss = criterion(model(xb), yb)  # ERR
        loss.backward()
        opt.step()
