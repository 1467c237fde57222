"""The whole graph run in-process on generated samples: one shared run per session where the data allow it."""
