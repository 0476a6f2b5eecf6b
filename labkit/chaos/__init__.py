"""Breaking things on purpose and proving what survives (notebooks 06 and 08).

``faults`` strikes (kill, stop, pause, bounce), ``workload`` produces through them, ``checker``
balances the books, ``report`` prints the table. Notebook 08 adds ``processor`` (a
consume-transform-produce process, transactional or not), ``exactly_once`` (kill it, restart it,
count every order) and ``eos_plots``. Notebooks reach all of it as ``lk.failover``.
"""
from . import eos_plots, exactly_once, processor
from .checker import check, read_back
from .faults import FAULTS, check_fault
from .report import COLUMNS, summary, table_header, table_line
from .workload import (PARTITIONS, SAFE_PRODUCER, UNSAFE_PRODUCER, Acks, Trial, run_trial,
                       run_trials)

__all__ = ["Acks", "COLUMNS", "FAULTS", "PARTITIONS", "SAFE_PRODUCER", "Trial", "UNSAFE_PRODUCER",
           "check", "check_fault", "eos_plots", "exactly_once", "processor", "read_back", "run_trial",
           "run_trials", "summary", "table_header", "table_line"]
