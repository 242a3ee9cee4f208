"""Time series windows into a batch_first LSTM."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

windows = torch.randn(160, 50, 10)
next_value = torch.randn(160, 1)
loader = DataLoader(TensorDataset(windows, next_value), batch_size=32, shuffle=True)


class Forecaster(nn.Module):
    def __init__(self, n_features=10, hidden=32):  # BUG: def __init__(self, n_features=12, hidden=32):
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        seq, _ = self.lstm(x)  # ERR
        return self.out(seq[:, -1])


model = Forecaster()
loss_fn = nn.MSELoss()
for x, y in loader:
    loss = loss_fn(model(x), y)
