"""Checkpoints: what one holds (the recipe), writing it in place or in the background, listing
and rotating checkpoint folders, and resuming from them."""
