"""Built-in pair-construction filters: pair_ranking, point_sifting, margin, swap_consistency."""
