"""Reads of the labelling domain: querysets and plain values, already scoped to what the user may see."""
