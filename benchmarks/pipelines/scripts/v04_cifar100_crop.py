"""CIFAR-100 with augmentation; the classifier head assumes 32x32 inputs."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

train_tf = transforms.Compose([
    transforms.RandomCrop(32, padding=4),  # BUG: transforms.RandomCrop(24),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize((0.507, 0.487, 0.441), (0.267, 0.256, 0.276)),
])
train_set = datasets.CIFAR100("./data", train=True, download=True, transform=train_tf)
train_loader = DataLoader(train_set, batch_size=128, shuffle=True, drop_last=True)


class SmallVGG(nn.Module):
    def __init__(self, num_classes=100):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Linear(128 * 8 * 8, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = x.view(x.size(0), -1)
        return self.classifier(x)  # ERR SH101


model = SmallVGG()
criterion = nn.CrossEntropyLoss()
for images, targets in train_loader:
    loss = criterion(model(images), targets)
