"""The twin's root stages: small ASCII layers over binary layers.

:func:`write_stage` writes ``layers/base.usdc`` (all geometry, binary, fast to
write and load) and the combined root ``twin.usda``
(:func:`write_combined_root`). The root layer is small and readable: stage
metadata (Z up, metres, defaultPrim World), the georeference in
``customLayerData["twin3d"]`` and as a ``/CesiumGeoreference`` prim, and
``/World``, which brings the signal and base layers in by reference and
offers a ``scenario`` variant set: each variant references one scenario
layer's ``/World``. Opinion strength (LIVRPS): a reference authored inside
a variant is stronger than ``/World``'s own references, so the selected
scenario's time samples win over the base and signal layers' defaults; the
root authors no attribute values itself.

:func:`write_root_layer` writes the older form, a root that only sublayers
(a sublayer listed first is stronger); tests and tools that stack layers by
hand use it.

Every layer written here carries the same stage metadata, so each one also
opens alone as a valid stage.

Each scenario gets its own root, ``scenarios/<stem>.usda``
(:func:`write_scenario_stage`), over ``layers/scenarios/<stem>.usdc`` (see
:mod:`twin3d.usd.scenario`), ``layers/signal.usdc`` (see
:mod:`twin3d.usd.signal`) and ``layers/base.usdc``, with one time code per
step played at :data:`TIME_CODES_PER_SECOND`.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from twin3d.geo.frame import LocalFrame
>>> from twin3d.geo.records import SourceData, SiteRecord
>>> from twin3d.model import build_twin
>>> twin = build_twin(SourceData(sites=[SiteRecord("S1", 24.94, 60.17)]), LocalFrame(24.94, 60.17))
>>> root = write_stage(twin, Path(tempfile.mkdtemp()))
>>> root.name, (root.parent / "layers" / "base.usdc").exists()
('twin.usda', True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from pxr import Sdf, Vt

from ..errors import InputError
from ..model import Twin
from .base import write_base_layer
from .georef import author_cesium_georeference
from .layers import (BASE_LAYER, DEFAULT_PRIM, ROOT_NAME, SCENARIO_DIR, SIGNAL_LAYER,
                     TIME_CODES_PER_SECOND, VARIANT_SET, new_layer, scenario_paths, scenario_stem,
                     set_stage_metadata, set_time_metadata)
from .scenario import write_scenario_layer
from .signal import write_signal_layer

__all__ = ["write_root_layer", "write_combined_root", "write_stage", "write_scenario_stage"]


def write_root_layer(path: Path, sublayers: Sequence[str], twin: Twin) -> Path:
    """Write the root layer: stage metadata and ``sublayers`` (strongest first).

    Parameters
    ----------
    path : Path
        The root layer file (``.usda``).
    sublayers : sequence of str
        Sublayer asset paths, relative to ``path`` (``"./layers/base.usdc"``).
    twin : Twin
        Source of the metadata (scene name, origin).

    Returns
    -------
    Path
        ``path``.
    """
    layer = new_layer(Path(path))
    with Sdf.ChangeBlock():
        set_stage_metadata(layer, twin)
        layer.subLayerPaths = list(sublayers)
    layer.Save()
    return Path(path)


def write_combined_root(path: Path, references: Sequence[str], twin: Twin,
                        scenarios: Sequence[tuple[str, str, int]] = (),
                        time_codes_per_second: float = TIME_CODES_PER_SECOND) -> Path:
    """Write the combined root: /World by reference, a ``scenario`` variant set.

    Parameters
    ----------
    path : Path
        The root layer file (``OUT/twin.usda``).
    references : sequence of str
        Layers whose ``/World`` the root's ``/World`` references, relative
        to ``path``, strongest first (``["./layers/signal.usdc",
        "./layers/base.usdc"]``).
    twin : Twin
        Source of the metadata (scene name, origin).
    scenarios : sequence of (name, layer, steps)
        One variant per scenario: its variant name (:func:`scenario_stem` of
        the name), the scenario layer relative to ``path``, and its step
        count. The first is the default selection; the time code range
        covers the longest scenario.
    time_codes_per_second : float
        Playback rate; must equal the scenario layers'.

    Returns
    -------
    Path
        ``path``.
    """
    layer = new_layer(Path(path))
    with Sdf.ChangeBlock():
        set_stage_metadata(layer, twin)
        # /World: kind and type come from the referenced base layer
        world = Sdf.PrimSpec(layer, DEFAULT_PRIM, Sdf.SpecifierDef)
        world.referenceList.prependedItems = [Sdf.Reference(r, Sdf.Path(f"/{DEFAULT_PRIM}"))
                                              for r in references]
        if scenarios:
            vset = Sdf.VariantSetSpec(world, VARIANT_SET)
            for name, layer_path, _ in scenarios:
                variant = Sdf.VariantSpec(vset, scenario_stem(name))
                variant.primSpec.referenceList.prependedItems = [
                    Sdf.Reference(layer_path, Sdf.Path(f"/{DEFAULT_PRIM}"))]
            world.variantSetNameList.prependedItems = [VARIANT_SET]
            world.variantSelections[VARIANT_SET] = scenario_stem(scenarios[0][0])
            set_time_metadata(layer, max(steps for _, _, steps in scenarios), time_codes_per_second)
            meta = dict(layer.customLayerData["twin3d"])
            meta["scenarios"] = Vt.StringArray([scenario_stem(n) for n, _, _ in scenarios])
            layer.customLayerData = {"twin3d": meta}
        author_cesium_georeference(layer, twin.frame)
    layer.Save()
    return Path(path)


def write_stage(twin: Twin, out_dir: Path, radio_map=None, radio_key: bytes | None = None,
                scenarios: Sequence = ()) -> Path:
    """Write the twin's stage into ``out_dir``.

    Writes ``out_dir/layers/base.usdc`` (geometry, see
    :mod:`twin3d.usd.base`, and the ``/CesiumGeoreference`` prim), with a
    radio map ``layers/signal.usdc`` (:mod:`twin3d.usd.signal`), one
    ``layers/scenarios/<name>.usdc`` and root ``scenarios/<name>.usda`` per
    scenario result (:mod:`twin3d.usd.scenario`), and the combined root
    ``out_dir/twin.usda`` (:func:`write_combined_root`: base and signal by
    reference, one ``scenario`` variant per result).

    Parameters
    ----------
    twin : Twin
        The twin to write.
    out_dir : Path
        Folder to write into (created if missing; files are replaced).
    radio_map : RadioMap, optional
        The map of the signal layer (every site in its scene state).
    radio_key : bytes, optional
        That map's key among the scenario results' radio maps.
    scenarios : sequence of ScenarioResult
        Simulated scenarios.

    Returns
    -------
    Path
        The root layer, ``out_dir/twin.usda``.

    Raises
    ------
    InputError
        ``out_dir`` exists and is a file.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, "output folder is a file")
    base = new_layer(out_dir / BASE_LAYER)
    write_base_layer(twin, base)
    set_stage_metadata(base, twin)
    author_cesium_georeference(base, twin.frame)
    base.Save()
    layers = [BASE_LAYER]
    if radio_map is not None:
        write_signal_layer(twin, radio_map, out_dir / SIGNAL_LAYER)
        layers.insert(0, SIGNAL_LAYER)
    variants = []
    for result in scenarios:
        root, layer = scenario_paths(out_dir, result.name)
        write_scenario_layer(twin, result, layer, signal_maps=None if radio_map is not None else {},
                             signal_key=radio_key)
        write_scenario_stage(out_dir, result.name, None, twin, len(result.steps))
        variants.append((result.name, f"./layers/{SCENARIO_DIR}/{layer.name}", len(result.steps)))
    return write_combined_root(out_dir / ROOT_NAME, layers, twin, variants)


def write_scenario_stage(out_dir: Path, name: str, sublayers: Sequence[str] | None, twin: Twin,
                         steps: int, time_codes_per_second: float = TIME_CODES_PER_SECOND) -> Path:
    """Write the root stage of one scenario: ``OUT/scenarios/<stem>.usda``.

    A small ASCII layer with the stage metadata and the time code range,
    sublayering the scenario layer over the signal and base layers, so each
    scenario opens on its own.

    Parameters
    ----------
    out_dir : Path
        The output folder (holding ``layers/``).
    name : str
        Scenario name (the file stem is :func:`scenario_stem` of it).
    sublayers : sequence of str or None
        Sublayer paths relative to the root, strongest first. None: the
        scenario layer, ``layers/signal.usdc`` if it exists, and
        ``layers/base.usdc``.
    twin : Twin
        Source of the metadata (scene name, origin).
    steps : int
        Number of scenario steps: time codes 0 .. steps - 1.
    time_codes_per_second : float
        Playback rate; must equal the scenario layer's.

    Returns
    -------
    Path
        The root layer written.
    """
    root, layer_path = scenario_paths(out_dir, name)
    if sublayers is None:
        sublayers = [f"../layers/{SCENARIO_DIR}/{layer_path.name}"]
        if (Path(out_dir) / SIGNAL_LAYER).is_file():
            sublayers.append("../layers/signal.usdc")
        sublayers.append("../layers/base.usdc")
    layer = new_layer(root)
    with Sdf.ChangeBlock():
        set_stage_metadata(layer, twin)
        meta = dict(layer.customLayerData["twin3d"])
        meta["scenario"] = str(name)
        layer.customLayerData = {"twin3d": meta}
        set_time_metadata(layer, steps, time_codes_per_second)
        layer.subLayerPaths = list(sublayers)
    layer.Save()
    return root
