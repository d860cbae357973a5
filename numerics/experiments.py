"""The registry of experiments: every :class:`numerics.core.experiment.Experiment` by its ID.

>>> sorted(EXPERIMENTS)[:2]
['DL-GD', 'DL-SWEEP']
"""
from __future__ import annotations

from numerics.deep_lda.experiments import DEPTH_SWEEP, GD_AGAINST_FLOW
from numerics.mirror_flow.experiments import SLOW_CONVERGENCE
from numerics.mirror_flow.feature_experiment import FEATURES
from numerics.mirror_flow.margin_experiments import MARGIN_DIRECTION, NORM_GROWTH, SAME_HORIZON

__all__ = ["EXPERIMENTS"]

EXPERIMENTS = {e.id: e for e in (DEPTH_SWEEP, GD_AGAINST_FLOW, SLOW_CONVERGENCE, MARGIN_DIRECTION,
                                 SAME_HORIZON, FEATURES, NORM_GROWTH)}
