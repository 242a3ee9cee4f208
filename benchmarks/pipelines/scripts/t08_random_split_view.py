"""random_split, enumerate(loader) and a view in the training loop."""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset, random_split

images = np.random.rand(320, 1, 28, 28).astype(np.float32)
labels = np.random.randint(0, 10, size=(320,))
full = TensorDataset(torch.tensor(images), torch.tensor(labels))
train_ds, val_ds = random_split(full, [0.75, 0.25])
train_loader = DataLoader(train_ds, batch_size=64, shuffle=True)
model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
criterion = nn.CrossEntropyLoss()
for batch_idx, (data, target) in enumerate(train_loader):
    data = data.view(-1, 28 * 28)  # BUG: data = data.view(-1, 28 * 28 * 3)
    output = model(data)
    loss = criterion(output, target)
