"""Seeing the cluster: its state as DataFrames, Burrow's lag rules, pictures and the live dashboard.

``inspector`` asks the cluster (one admin client, reused); ``burrow`` judges lag; ``sampler``
records it over time; ``plots`` and ``lagplot`` draw; ``liveplots`` redraws in place; ``widgets``
is the dashboard (notebooks 02-06).
"""
