"""Click-driven segmentation networks, their registry of builders and checkpoint loading."""
