"""KMNIST: the loader's class indices into the loss."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

data = datasets.KMNIST("data", train=False, download=True, transform=transforms.ToTensor())
loader = DataLoader(data, batch_size=256)
model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 26 * 26, 10))
criterion = nn.BCEWithLogitsLoss()  # BUG
with torch.no_grad():
    for x, y in loader:
        logits = model(x)
        loss = criterion(logits, y)  # ERR SH117
