"""Model sources used by the server tests (lines are 0-based in the comments)."""

NET = """\
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 32 * 32, 10)

    def forward(self, x):
        x = self.conv(x)
        x = self.fc(x)
        return x

net = Net()
out = net(torch.randn(2, 3, 32, 32))
"""
# line 3: class Net; line 7: self.fc = nn.Linear(...); line 10: x = self.conv(x);
# line 11: x = self.fc(x)  -> SH101 (missing flatten)
NET_CLASS_LINE, NET_CTOR_LINE, NET_CONV_LINE, NET_FC_LINE = 3, 7, 10, 11

SEQ = """\
import torch
import torch.nn as nn

model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Linear(8 * 30 * 30, 10))
model(torch.randn(2, 3, 32, 32))
"""
SEQ_LINE = 3

OK = """\
import torch
import torch.nn as nn

class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = self.fc(x)
        return x

m = Small()
y = m(torch.randn(2, 8))
"""
