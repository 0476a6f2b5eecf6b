"""Breaking brokers on purpose and proving nothing acknowledged was lost (notebook 06).

``faults`` strikes (kill, stop, pause, bounce), ``workload`` produces through them, ``checker``
balances the books, ``report`` prints the table. Notebooks reach all of it as ``lk.failover``.
"""
from .checker import check, read_back
from .faults import FAULTS, check_fault
from .report import COLUMNS, summary, table_header, table_line
from .workload import (PARTITIONS, SAFE_PRODUCER, UNSAFE_PRODUCER, Acks, Trial, run_trial,
                       run_trials)

__all__ = ["Acks", "COLUMNS", "FAULTS", "PARTITIONS", "SAFE_PRODUCER", "Trial", "UNSAFE_PRODUCER",
           "check", "check_fault", "read_back", "run_trial", "run_trials", "summary",
           "table_header", "table_line"]
