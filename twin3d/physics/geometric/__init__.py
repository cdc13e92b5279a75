"""The geometry-aware fast radio model "geometric" (issue 13), term by term.

* :mod:`.diffraction`: ITU-R P.526 knife edge J(v) and Deygout multiple edges;
* :mod:`.ground`: two-ray ground reflection with the Fresnel coefficient;
* :mod:`.los3d`: exact 3D line of sight against extruded building prisms
  (:mod:`.crossing`: one ray against one wall; :mod:`.fan`: the walls around
  an antenna by angle, for its rays);
* :mod:`.reflection`: wall reflections by the 2D image method;
* :mod:`.corner`: one-corner lateral diffraction;
* :mod:`.legs`: the first ranked two-leg path (corner, reflection) with both legs clear;
* :mod:`.model`: the combined per-cell path gain.

Physics only: arrays in, arrays out, no I/O.
"""
