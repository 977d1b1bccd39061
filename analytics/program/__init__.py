"""The program: its rules (tiers, minimums, review settings), its regional variants and the product catalogue."""
