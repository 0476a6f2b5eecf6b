"""The lessons' side of labkit: automatic checks for the notebooks' exercises.

Notebooks reach them as ``lk.exercises``: ``lk.exercises.check_first_message(lab, ...)``. Each check
prints one verdict line that starts with ✔ (correct) or ✘ (not yet) and returns True or False; it
never raises (``verdict``). The checks live by lesson: ``basics`` (00-03), ``consuming`` (04-05),
``durability`` (06-07), ``transactions`` (08), ``streams`` (09), ``connect`` (10),
``monitoring`` (11), ``security`` (12).
"""
from .basics import check_first_message, check_in_order, check_safe_producer, check_topic
from .connect import check_tagged_source
from .consuming import check_committed, check_one_partition_each
from .durability import check_durable, check_tombstone
from .monitoring import check_bytes_in
from .security import check_read_grant
from .streams import check_window_counts
from .transactions import check_commit_and_abort, stable_and_high
from .verdict import Wrong, read_all

__all__ = ["Wrong", "check_bytes_in", "check_commit_and_abort", "check_committed", "check_durable",
           "check_first_message", "check_in_order", "check_one_partition_each", "check_read_grant",
           "check_safe_producer", "check_tagged_source", "check_tombstone", "check_topic",
           "check_window_counts", "read_all", "stable_and_high"]
