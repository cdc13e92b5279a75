"""The geometry-aware fast radio model "geometric" (issue 13), term by term.

* :mod:`.diffraction`: ITU-R P.526 knife edge J(v) and Deygout multiple edges;
* :mod:`.ground`: two-ray ground reflection with the Fresnel coefficient;
* :mod:`.los3d`: exact 3D line of sight against extruded building prisms;
* :mod:`.reflection`: wall reflections by the 2D image method;
* :mod:`.model`: the combined per-cell path gain.

Physics only: arrays in, arrays out, no I/O.
"""
