"""Test-time transforms with inverses: ZoomIn, LimitLongestSide, SigmoidForPred, AddHorizontalFlip."""
from inference.transforms.base import Transform
from inference.transforms.flip import AddHorizontalFlip
from inference.transforms.limit_longest_side import LimitLongestSide
from inference.transforms.sigmoid import SigmoidForPred
from inference.transforms.zoom_in import ZoomIn

__all__ = ["Transform", "AddHorizontalFlip", "LimitLongestSide", "SigmoidForPred", "ZoomIn"]
