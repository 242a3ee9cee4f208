"""Token ids from NumPy into an embedding classifier."""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

tokens = np.random.randint(0, 1000, size=(240, 40))
y = np.random.randint(0, 2, size=(240,))
loader = DataLoader(TensorDataset(torch.from_numpy(tokens), torch.from_numpy(y)), batch_size=24)


class TextClassifier(nn.Module):
    def __init__(self, vocab=1000, dim=64):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.fc = nn.Linear(dim, 2)  # BUG: self.fc = nn.Linear(dim * 40, 2)

    def forward(self, ids):
        h = self.emb(ids).mean(dim=1)
        return self.fc(h)  # ERR


model = TextClassifier()
for ids, label in loader:
    logits = model(ids)
    loss = nn.functional.cross_entropy(logits, label)
