"""The annual partner review: the program rules (tier minimums) and the recommendations and decisions."""
