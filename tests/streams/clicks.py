"""Notebook 09's clicks, (user, seconds), in arrival order: b's click at 16 s comes at stream time
23 s, 3 s after its window [10, 20) ended."""
RECORDS = [("a", 1), ("b", 2), ("a", 6), ("b", 9), ("a", 12), ("b", 14), ("a", 19), ("a", 23),
           ("b", 16), ("b", 27), ("a", 31), ("b", 33), ("a", 38), ("b", 45)]
