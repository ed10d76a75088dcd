"""A learner's script: a model, then training at top level with no __main__ guard."""
import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, channels=16):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv(x) + x)


model = Block()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for epoch in range(3):
    loss = model(torch.randn(2, 16, 8, 8)).sum()
    loss.backward()
    optimizer.step()
torch.save(model.state_dict(), "net.pth")
