"""A multi-output regression: the loader's targets into MSELoss."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

X = torch.randn(128, 6)
Y = torch.randn(128, 2)
train = DataLoader(TensorDataset(X, Y), batch_size=32)
net = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 3))  # BUG
mse = nn.MSELoss()
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
for epoch in range(3):
    for i, (inputs, targets) in enumerate(train):
        optimizer.zero_grad()
        loss = mse(net(inputs), targets)  # ERR SH117
        loss.backward()
        optimizer.step()
