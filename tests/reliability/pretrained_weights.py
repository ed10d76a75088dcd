"""Builds a torchvision ResNet with pretrained weights: nothing may be downloaded."""
from torchvision.models import resnet18


def build():
    return resnet18(weights="DEFAULT")
