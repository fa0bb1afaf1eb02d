"""Synthetic classes for demonstrating and testing the grader (``make_sample_class``)."""
