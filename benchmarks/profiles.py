"""Scenario parameters per mode: ``smoke`` (the test: seconds), ``quick`` (every
scenario in a few minutes), ``full`` (the published figures)."""
from __future__ import annotations

ORDER = ('failover', 'recovery', 'fanout', 'latency', 'capacity', 'overhead', 'soak',
         'stress', 'rosbridge')
DEFAULT = ORDER[:-1]  # rosbridge needs ROS 2: run with --ros (or --only rosbridge)

# fanout points: (clients, rate Hz, msg.data bytes)
PROFILES = {
    'smoke': {
        'failover': {'rate': 100, 'clients': 1, 'trials': 1, 'settle_s': 0.0,
                     'trial_timeout_s': 10},
        'recovery': {'trials': 1, 'timeout_s': 20, 'spacing_s': 0.0},
        'fanout': {'points': [(5, 50, 100)], 'repeats': 1, 'window_s': 1.0,
                   'warmup_s': 0.5},
        'latency': {'rate': 100, 'rounds': 1, 'window_s': 1.5},
        'capacity': {'steps': [10], 'rate': 10, 'window_s': 1.5, 'idle': 10},
        'overhead': {'clients': 5, 'rate': 50, 'window_s': 1.5},
        'soak': {'duration_s': 40, 'rate': 50, 'clients': 2, 'interval_s': (3, 5),
                 'hang_s': 2, 'sample_s': 2, 'recovery_timeout_s': 20, 'explain_s': 8,
                 'seed': 7, 'warm_s': 6},
        'stress': {'duration_s': 12, 'before_s': 4, 'rate': 50, 'clients': 2,
                   'busy_per_core': 1},
        'rosbridge': {'points': [(5, 50, 100)], 'repeats': 1, 'window_s': 1.0,
                      'warmup_s': 0.5},
    },
    'quick': {
        'failover': {'rate': 100, 'clients': 1, 'trials': 3, 'settle_s': 10.0,
                     'trial_timeout_s': 10},
        'recovery': {'trials': 4, 'timeout_s': 20, 'spacing_s': 3.0},
        'fanout': {'points': [(50, 200, 100), (200, 50, 1000), (1000, 10, 100)],
                   'repeats': 1, 'window_s': 3.0, 'warmup_s': 1.0},
        'latency': {'rate': 100, 'rounds': 2, 'window_s': 4.0},
        'capacity': {'steps': [100, 500], 'rate': 10, 'window_s': 3.0, 'idle': 200},
        'overhead': {'clients': 50, 'rate': 50, 'window_s': 5.0},
        'soak': {'duration_s': 180, 'rate': 50, 'clients': 3, 'interval_s': (8, 12),
                 'hang_s': 3, 'sample_s': 5, 'recovery_timeout_s': 45, 'explain_s': 10,
                 'seed': 7, 'warm_s': 20},
        'stress': {'duration_s': 60, 'before_s': 20, 'rate': 50, 'clients': 2,
                   'busy_per_core': 1},
        'rosbridge': {'points': [(50, 200, 100), (50, 50, 100), (200, 20, 100)],
                      'repeats': 1, 'window_s': 3.0, 'warmup_s': 1.0},
    },
    'full': {
        'failover': {'rate': 100, 'clients': 2, 'trials': 20, 'settle_s': 15.0,
                     'trial_timeout_s': 15},
        'recovery': {'trials': 20, 'timeout_s': 30, 'spacing_s': 5.0},
        'fanout': {'points': [(50, 200, 100), (50, 200, 1000), (50, 200, 10000),
                              (200, 50, 100), (200, 200, 100), (1000, 10, 100),
                              (1000, 50, 100)],
                   'repeats': 2, 'window_s': 6.0, 'warmup_s': 1.5},
        'latency': {'rate': 100, 'rounds': 4, 'window_s': 10.0},
        'capacity': {'steps': [100, 200, 500, 1000], 'rate': 10, 'window_s': 8.0,
                     'idle': 500},
        'overhead': {'clients': 100, 'rate': 50, 'window_s': 20.0},
        'soak': {'duration_s': 3600, 'rate': 50, 'clients': 4, 'interval_s': (20, 40),
                 'hang_s': 3, 'sample_s': 10, 'recovery_timeout_s': 45, 'explain_s': 10,
                 'seed': 7, 'warm_s': 60},
        'stress': {'duration_s': 600, 'before_s': 60, 'rate': 50, 'clients': 3,
                   'busy_per_core': 1},
        'rosbridge': {'points': [(50, 200, 100), (50, 50, 100), (200, 20, 100),
                                 (50, 200, 1000), (1000, 10, 100)],
                      'repeats': 2, 'window_s': 6.0, 'warmup_s': 1.5},
    },
}
