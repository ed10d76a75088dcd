"""Loads a model from torch.hub at import: that needs the network."""
import torch

model = torch.hub.load("pytorch/vision", "resnet18", weights=None)
