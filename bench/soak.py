"""The failover soak: every fault mode, many trials, and the results written to soak-results.md.

    .venv/bin/python bench/soak.py                      # 4 modes x 30 trials x 5,000 records
    .venv/bin/python bench/soak.py --trials 3 --modes kill pause

It runs on the lab cluster that LABKIT_STATE_DIR / LABKIT_PORT_BASE name (started if needed), is
not part of `make test` (the full soak takes about an hour on a laptop), and rewrites
bench/soak-results.md with what actually ran: modes, trials, records, losses, time to the next
acknowledgement, wall times, and the machine. Each mode also runs --controls unsafe trials (the
same fault with acks=1, RF=2, min ISR 1, unclean election) which must lose records, or the safe
zeros prove nothing. Exit status 1 if a safe trial lost, duplicated, reordered or left unresolved
any record, or a mode's unsafe controls lost nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import labkit as lk  # noqa: E402
from labkit import config
from labkit.chaos import faults
from labkit import chaos as failover  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "soak-results.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--modes", nargs="+", default=list(faults.FAULTS), choices=faults.FAULTS)
    parser.add_argument("--controls", type=int, default=2, help="unsafe trials per mode (>= 1)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    lab = lk.start(quiet=True)
    started = time.monotonic()
    if args.controls < 1:
        parser.error("--controls must be at least 1: the zero-loss result needs its control")
    tables, controls = {}, {}
    for mode in args.modes:
        print(f"== {mode}: {args.trials} trials x {args.records}+ records", flush=True)
        print(failover.table_header(), flush=True)
        tables[mode] = failover.run_trials(lab, mode, args.trials, args.records, out=sys.stdout)
        print(failover.summary(tables[mode]), flush=True)
        print(f"== {mode}, unsafe control: {args.controls} trials", flush=True)
        controls[mode] = failover.run_trials(lab, mode, args.controls, args.records, unsafe=True,
                                             out=sys.stdout)
        _write(args, tables, controls, time.monotonic() - started)  # partial results survive an interrupt
    bad = sum(int(df[c].sum()) for df in tables.values()
              for c in ("lost", "misplaced", "duplicates", "reordered", "hw_short", "unresolved", "failed"))
    blind = [mode for mode, df in controls.items() if not int(df["lost"].sum())]
    print(f"written: {args.out}; safe trials' faults={bad}; controls that lost nothing: {blind or 'none'}")
    return 1 if bad or blind else 0


def _write(args, tables: dict, controls: dict, elapsed: float) -> None:
    full = args.trials >= 30 and args.records >= 5000 and len(tables) == len(faults.FAULTS)
    lines = [
        "# Failover soak results",
        "",
        f"Written by `bench/soak.py` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: "
        f"Kafka {config.KAFKA_VERSION}, 3 local brokers (RF=3, min.insync.replicas=2; producer "
        f"{_settings(failover.SAFE_PRODUCER)}), {platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"{elapsed / 60:.0f} min in all.",
        "",
        "This run: " + ("the full soak" if full else "**a reduced soak**, not the full 4 modes x 30 "
                        "trials x 5,000 records")
        + f": modes {', '.join(tables)}, {args.trials} trials each, at least {args.records} records "
          "per trial. The full soak is `.venv/bin/python bench/soak.py`.",
        "",
        "| fault | trials | acked | unresolved | lost | duplicates | reordered | present, never acked | "
        "next ack s (median of trial medians) | next ack s (slowest fault) | wall s (median) | "
        "unsafe control: trials, lost |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, df in tables.items():
        tta = [t for t in df["next_ack_s"].dropna()]
        slowest = [t for t in df["next_ack_max_s"].dropna()]
        ctl = controls.get(mode)
        lines.append(
            f"| {mode} | {len(df)} | {int(df['acked'].sum())} | {int(df['unresolved'].sum())} | "
            f"{int(df['lost'].sum())} | {int(df['duplicates'].sum())} | {int(df['reordered'].sum())} | "
            f"{int(df['unacked_present'].sum())} | {round(statistics.median(tta), 2) if tta else '-'} | "
            f"{max(slowest) if slowest else '-'} | {round(statistics.median(df['wall_s']), 1)} | "
            f"{f'{len(ctl)}, {int(ctl.lost.sum())}' if ctl is not None else '-'} |")
    lines += ["", "Per-trial lines (`" + failover.summary(_concat(tables)) + "` in all):", "", "```",
              failover.table_header()]
    for mode, df in [*tables.items(), *controls.items()]:
        for trial, row in df.iterrows():
            lines.append(failover.table_line({"trial": trial, **row.to_dict()}))
    lines += ["```", ""]
    args.out.write_text("\n".join(lines))


def _settings(producer: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in producer.items())


def _concat(tables: dict):
    import pandas as pd
    return pd.concat(tables.values())


if __name__ == "__main__":
    sys.exit(main())
