"""OpenUSD stages of a twin: base geometry layer, root stage, validation.

``write_stage(twin, out_dir)`` writes ``out_dir/twin.usda`` over
``out_dir/layers/base.usdc``; ``validate_stage(path)`` runs OpenUSD's and
NVIDIA's validators on it.
"""

from .sdfutil import prim_name, prim_names
from .stage import write_root_layer, write_stage
from .validate import ValidationReport, validate_stage

__all__ = ["prim_name", "prim_names", "write_root_layer", "write_stage", "ValidationReport",
           "validate_stage"]
