"""Advisory packs: data files describing an advisory and the detections that cover it."""
