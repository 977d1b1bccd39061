"""The churn and turnaround model: features per partner and quarter, BG/NBD, the fit, stored scores, the risk list."""
