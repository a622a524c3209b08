"""Bounds the memory a shared (pool) Odoo process gives to the tenant databases it serves.

Why: every web worker of a pool keeps the registry (the loaded models, 5-15 MiB) of each database
it has served in an LRU, `Registry.registries`, sized from `limit_memory_soft` (2048 MiB / 15 MiB
= 136 databases by default). With 100 tenants behind two workers, both hold all 100.

1. `registry_lru_size`: Odoo reads this key from odoo.conf (odoo/modules/registry.py) but keeps the
   config file's text, and its LRU cannot compare text with a number (`max('20', 1)` raises). This
   module makes it a number at start-up, which server-wide modules reach before any registry is
   made (odoo.service.server.start loads them first). A database past the limit is dropped from
   the worker and loaded again on its next request (about a second on Odoo 16 here).

2. `saas_worker_recycle_rss` (bytes): Odoo recycles a worker whose *virtual* size passes
   `limit_memory_soft` (server.memory_info returns vms on Linux), which says little about what a
   Python process holds: memory freed by evicted registries stays in the process, fragmented. A
   worker whose resident size passes this limit finishes its request and exits; the master forks a
   fresh one, which loads registries again on demand. Cron workers are workers too.

Neither key set (dedicated processes): the module changes nothing.
"""
import logging
import os

import psutil

from odoo.service import server
from odoo.tools import config

_logger = logging.getLogger(__name__)


def _positive_int(key):
    """The key's value as a number > 0, else None; a value that is not one is removed from the
    configuration (logged), so Odoo falls back to its own behaviour instead of failing on it."""
    value = config.get(key)
    if value in (None, '', False):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0:
        _logger.warning('saas_pool_memory: %s = %r is not a number > 0; ignored', key, value)
        config[key] = None
        return None
    return number


_lru_size = _positive_int('registry_lru_size')
if _lru_size is not None:
    config['registry_lru_size'] = _lru_size

_recycle_rss = _positive_int('saas_worker_recycle_rss')


def _recycling(original):
    def check_limits(self):
        original(self)
        if not self.alive:
            return
        rss = psutil.Process(os.getpid()).memory_info().rss
        if rss > _recycle_rss:
            _logger.info('Worker (%d) resident memory %d passed saas_worker_recycle_rss (%d): recycled.', self.pid, rss, _recycle_rss)
            self.alive = False  # Odoo's own way: finish the current loop, exit, the master forks a new one.

    check_limits.saas_pool_memory_wraps = original
    return check_limits


if _recycle_rss is not None and not hasattr(server.Worker.check_limits, 'saas_pool_memory_wraps'):
    server.Worker.check_limits = _recycling(server.Worker.check_limits)
