"""torch.tensor(X) keeps NumPy's float64; the model is float32."""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

X = np.linspace(0, 1, 512).reshape(128, 4)
y = np.random.randint(0, 3, size=128)
X_t = torch.tensor(X)  # BUG
loader = DataLoader(TensorDataset(X_t, torch.tensor(y)), batch_size=16)
clf = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def train(model, data):
    for features, target in data:
        loss = nn.functional.cross_entropy(model(features), target)  # ERR SH110
        loss.backward()


train(clf, loader)
