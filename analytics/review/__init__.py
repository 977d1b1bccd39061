"""The annual partner review: recommendations, decisions, letters and the what-if (rules: analytics.program)."""
