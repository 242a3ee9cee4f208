"""STL-10 (96x96) resized to 64 for a network built for 64x64."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

tf = transforms.Compose([transforms.Resize(64), transforms.ToTensor()])  # BUG: tf = transforms.Compose([transforms.ToTensor()])
train = datasets.STL10("data", split="train", download=True, transform=tf)
loader = DataLoader(train, batch_size=32, shuffle=True)

model = nn.Sequential(
    nn.Conv2d(3, 32, 4, stride=2, padding=1),
    nn.ReLU(),
    nn.Conv2d(32, 64, 4, stride=2, padding=1),
    nn.ReLU(),
    nn.Flatten(),
    nn.Linear(64 * 16 * 16, 10),
)
for x, y in loader:
    logits = model(x)  # ERR SH101
    loss = nn.functional.cross_entropy(logits, y)
