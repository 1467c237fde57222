"""Fault-injection fixtures: one small generated sample and its clean reference run per session.

They live in tests/support/faults.py with the helpers the fault tests share; importing them here registers them.
"""

from tests.support.faults import _writable_tmp, landing_copy, published_copy, reference  # noqa: F401
