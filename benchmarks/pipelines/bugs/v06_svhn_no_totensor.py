"""SVHN without ToTensor: the loader cannot batch PIL images."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

tf = transforms.Compose([transforms.CenterCrop(28)])  # BUG
svhn = datasets.SVHN("data", split="train", download=True, transform=tf)
loader = DataLoader(svhn, batch_size=64)  # ERR SH112
model = nn.Sequential(nn.Conv2d(3, 16, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
for imgs, labels in loader:
    out = model(imgs)
    loss = nn.CrossEntropyLoss()(out, labels)
