"""Duplicates and bursts: exact copies, the same photo in another form, and near shots of one
moment, found as photos arrive and kept apart (a user treats them differently).

CLIP similarity alone calls two red cars duplicates; each candidate pair that the graph finds
is confirmed by a pixel-level signal (its look: a perceptual hash of the thumbnail's pixels,
core/look.py) and, for bursts, by the capture times. See docs/duplicates.md.
"""
