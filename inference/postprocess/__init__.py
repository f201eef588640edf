"""Post-processing of predicted probability maps (applied after the network, before the map is returned)."""
from inference.postprocess.guided_filter import GuidedFilterParams, GuidedRefiner

__all__ = ["GuidedFilterParams", "GuidedRefiner"]
