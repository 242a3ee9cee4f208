"""MNIST through transforms.v2 into an MLP that needs flat inputs."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.transforms import v2

transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
train_ds = datasets.MNIST(root="data", train=True, download=True, transform=transform)
train_dl = DataLoader(train_ds, batch_size=100, shuffle=True)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.layers = nn.Sequential(nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 10))

    def forward(self, x):
        x = x.squeeze(1)  # BUG
        return self.layers(x)  # ERR


model = MLP()
for xb, yb in train_dl:
    out = model(xb)
    loss = nn.functional.cross_entropy(out, yb)
