"""``sciformers data crystals.*`` and ``sciformers predict crystals``.

- ``sciformers data crystals.emt_eform [--set n_structures=500]`` generates the EMT alloys
  into the cache; ``crystals.dcdft`` and ``crystals.li_o`` convert the real DFT files that ASE
  and m3gnet ship into the same Matbench-style ``json.gz`` layout. Each prints the file path.
- ``sciformers predict crystals --checkpoint CKPT [--out DIR] [--skip-invalid] FILE.cif POSCAR folder/ ...``
  prints a header with the units (``prediction (eV/atom)`` for a ``crystals.emt_eform``
  checkpoint) and one line per structure (the prediction, a tab, the file name; ``file:block``
  for each structure of a CIF with several data blocks), writes them to ``DIR/predictions.csv``
  (``file,prediction,units``) and warns on stderr about structures holding elements the model
  never saw in training; nothing is written beside the inputs.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

from pydantic import Field

from sciformers.core import Config, cache_dir, cached_file
from sciformers.crystals import io, realdata
from sciformers.crystals.base import CrystalModel
from sciformers.crystals.task import EMTData, emt_file
from sciformers.evaluation.datasets import (
    DatasetEntry,
    PredictRequest,
    PredictResult,
    Predictor,
    register_dataset,
    register_predictor,
)


class DcdftData(Config):
    """Options of ``sciformers data crystals.dcdft``.

    Args:
        target: ``B0`` (GPa), ``volume`` (A^3/atom) or ``Bp``.
    """

    target: str = Field(default="B0")


class LiOData(Config):
    """Options of ``sciformers data crystals.li_o``.

    Args:
        target: ``energy_per_atom`` (eV/atom), ``energy`` (eV per cell) or ``band_gap`` (eV).
    """

    target: str = Field(default="energy_per_atom")


def _build_emt(cfg: Config) -> list[Path]:
    assert isinstance(cfg, EMTData)
    return [emt_file(cfg)]


def _build_dcdft(cfg: Config) -> list[Path]:
    assert isinstance(cfg, DcdftData)
    data = realdata.load_dcdft(cfg.target)
    path = cache_dir("crystals", "dcdft") / f"dcdft_{cfg.target}.json.gz"
    return [cached_file(path, lambda tmp: io.write_matbench(tmp, data, cfg.target))]


def _build_li_o(cfg: Config) -> list[Path]:
    assert isinstance(cfg, LiOData)
    data = realdata.load_li_o(cfg.target)
    path = cache_dir("crystals", "li_o") / f"li_o_{cfg.target}.json.gz"
    return [cached_file(path, lambda tmp: io.write_matbench(tmp, data, cfg.target))]


register_dataset(DatasetEntry("crystals.emt_eform", EMTData, _build_emt,
                              "EMT formation energies of random fcc/bcc/hcp alloy cells (seeded generator)"))
register_dataset(DatasetEntry("crystals.dcdft", DcdftData, _build_dcdft,
                              "71 elemental crystals with WIEN2k equation of state (ASE's dcdft.json, read in place)"))
register_dataset(DatasetEntry("crystals.li_o", LiOData, _build_li_o,
                              "47 Materials Project Li-O structures with DFT energies (m3gnet's test file, read in place)"))


def predict_crystals(request: PredictRequest) -> PredictResult:
    """A units header and one ``value<TAB>name`` line per structure of ``request.inputs`` (CIF/POSCAR
    files or folders), and ``predictions.csv`` (``file,prediction,units``) under ``request.out_dir``.

    Raises:
        StructureError: a malformed or invalid file, named in the message (unless ``skip_invalid``).
    """
    model = CrystalModel.from_checkpoint(request.checkpoint)
    result = PredictResult()
    structures, names = [], []
    for path in io.collect_structure_files(request.inputs):
        try:
            found = io.read_structure_file(path)
        except (io.StructureError, FileNotFoundError) as err:
            if not request.skip_invalid:
                raise
            result.skipped.append((str(path), str(err)))
            continue
        names += [name for name, _ in found]
        structures += [s for _, s in found]
    if not structures:
        return result
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = model.predict_structures(structures, names=names)
    for warning in caught:
        print(f"sciformers: warning: {warning.message}", file=sys.stderr)
    units = model.target_units or ""
    table = request.out_dir / "predictions.csv"
    table.write_text("file,prediction,units\n" + "".join(f"{name},{value:.8g},{units}\n"
                                                        for name, value in zip(names, values)))
    result.lines = [f"prediction ({units or 'units of the training targets'})\tfile"]
    result.lines += [f"{value:.6g}\t{name}" for value, name in zip(values, names)]
    result.written.append(table)
    return result


register_predictor("crystals", Predictor(predict_crystals, "CIF or POSCAR files, or folders of them (*.cif, POSCAR*, "
                                         "CONTCAR*, *.vasp; every structure block of a CIF); predictions in "
                                         "the training targets' units (eV/atom for crystals.emt_eform)"))
