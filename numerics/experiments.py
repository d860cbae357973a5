"""The registry of experiments: every :class:`numerics.core.experiment.Experiment` by its ID.

>>> sorted(EXPERIMENTS)[:2]
['DL-GD', 'DL-SWEEP']
"""
from __future__ import annotations

from numerics.deep_lda.experiments import DEPTH_SWEEP, GD_AGAINST_FLOW
from numerics.mirror_flow.experiments import SLOW_CONVERGENCE

__all__ = ["EXPERIMENTS"]

EXPERIMENTS = {e.id: e for e in (DEPTH_SWEEP, GD_AGAINST_FLOW, SLOW_CONVERGENCE)}
