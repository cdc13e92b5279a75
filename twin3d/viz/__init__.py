"""USD stage -> PyVista meshes: what the browser viewer draws (DESIGN.md section 7).

Reads any composed stage (Z or Y up, any metersPerUnit) and merges its
geometry into a few meshes with colour arrays (:mod:`.parts`); time steps
and scenario switches recolour those arrays (:mod:`.timeline`). Needs
PyVista; nothing here imports trame.
"""
