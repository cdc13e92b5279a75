"""The geometric radio model as it was before the speed work (issue 13), kept as a reference.

A verbatim copy of ``twin3d/physics/geometric`` at commit 0b26aa5 (imports
made absolute), the slow but plain version: ``tests/test_geometric_speed.py``
checks that the faster kernels give the same path gains on random scenes.
``reflection2.py`` and ``dominant_path.py`` are copies of the two-wall and corner-chain
terms at commit 9eaf4fd (before their speed work), the reference of
``tests/test_geometric_terms_speed.py``.
Test-only; never imported by twin3d.
"""
