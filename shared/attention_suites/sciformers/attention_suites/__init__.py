"""sciformers.attention_suites: the attention library's benchmarks as tasks of the harness.

``attention.listops`` (Long Range Arena's ListOps, one encoder classifier per attention kernel)
and ``attention.throughput`` (tokens/s and memory of every sequence kernel against N), and the
``attention.sequence_classifier`` model they train. A portion of its own, so that neither the
kernels (``sciformers.attention``) nor the harness (``sciformers.evaluation``) import them.
"""

from sciformers.attention_suites import listops, sequence_classifier, throughput  # noqa: F401
