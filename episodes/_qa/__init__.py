"""The quality gate and the annotator: numpy over whole streams, never a Python loop per sample.

Everything public is re-exported by :mod:`episodes`; ``episodes/QA.md`` documents the
checks, their thresholds and the annotation layout.
"""
