"""NumPy features (float64 by default) into a float32 model."""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

X = np.random.rand(256, 8)
y = np.random.rand(256, 1)
ds = TensorDataset(
    torch.from_numpy(X.astype(np.float32)),  # BUG: torch.from_numpy(X),
    torch.from_numpy(y.astype(np.float32)),
)
loader = DataLoader(ds, batch_size=32)
model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
loss_fn = nn.MSELoss()
for xb, yb in loader:
    pred = model(xb)  # ERR SH110
    loss = loss_fn(pred, yb)
