"""The chaos table as the CLI and the soak print it, one line per trial (``labkit chaos``)."""
from __future__ import annotations

COLUMNS = ("fault", "acked", "failed", "sent", "unresolved", "lost", "misplaced", "duplicates",
           "reordered", "hw_short", "unacked_present", "next_ack_s", "victims", "wall_s")


def _cell(column: str, value) -> str:
    width = max(len(column), 8)
    return f"{str(value):{width}}" if column in ("fault", "victims") else f"{str(value):>{width}}"


def table_header() -> str:
    return "trial  " + "  ".join(_cell(c, c) for c in COLUMNS)


def table_line(row: dict) -> str:
    return f"{row['trial']:>5}  " + "  ".join(_cell(c, row[c]) for c in COLUMNS)


def summary(df) -> str:
    """The one-line verdict: ``trials=N acked=A lost=L duplicates=D reordered=R``."""
    return (f"trials={len(df)} acked={int(df['acked'].sum())} lost={int(df['lost'].sum())} "
            f"duplicates={int(df['duplicates'].sum())} reordered={int(df['reordered'].sum())}")
