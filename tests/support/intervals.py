"""Confidence intervals straight from their textbook formulas, to check what the marts compute in SQL."""

from __future__ import annotations

import math

Z_95 = 1.96


def nps_interval(promoters: int, detractors: int, responses: int) -> tuple[float, float, float]:
    """NPS and its clamped 95 % interval, straight from the multinomial formula."""
    p_pro, p_det = promoters / responses, detractors / responses
    nps = 100 * (p_pro - p_det)
    margin = Z_95 * 100 * math.sqrt((p_pro + p_det - (p_pro - p_det) ** 2) / responses)
    return nps, max(-100.0, nps - margin), min(100.0, nps + margin)


def wilson_interval(successes: int, trials: int) -> tuple[float, float]:
    p, z2 = successes / trials, Z_95**2
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z_95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials**2)) / (1 + z2 / trials)
    return centre - half, centre + half
