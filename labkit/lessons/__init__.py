"""The lessons' side of labkit: automatic checks for the notebooks' exercises (``lk.exercises``)."""
