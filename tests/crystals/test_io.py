"""Loaders: CIF/POSCAR files and folders, JSON/CSV tables, Matbench json.gz; clear errors."""

import csv
import json
import warnings

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.vasp import Poscar

from sciformers.crystals import io

from .conftest import random_structure


def _same(a: Structure, b: Structure) -> bool:
    """Same cell parameters and the same (element, fractional position) sites in any order.

    CIF stores cell parameters, not the Cartesian orientation, and may reorder sites.
    """
    def sites(s):
        return sorted((str(x.specie), *np.round(x.frac_coords % 1.0, 4)) for x in s)

    return (np.allclose(a.lattice.parameters, b.lattice.parameters, atol=1e-4)
            and len(a) == len(b) and sites(a) == sites(b))


def test_cif_and_poscar_round_trip(tmp_path):
    s = random_structure(0)
    s.to(filename=str(tmp_path / "a.cif"))
    Poscar(s).write_file(tmp_path / "POSCAR")
    assert _same(io.read_structure(tmp_path / "a.cif"), s)
    assert _same(io.read_structure(tmp_path / "POSCAR"), s)
    data = io.read_structures(tmp_path)
    assert [p.split("/")[-1] for p in data.names] == ["POSCAR", "a.cif"]


def test_bad_files_are_named_and_skippable(tmp_path):
    random_structure(1).to(filename=str(tmp_path / "good.cif"))
    (tmp_path / "broken.cif").write_text("data_x\n_cell_length_a 3.0\nloop_\n_atom_site_label\n")
    overlap = Structure(Lattice.cubic(4.0), ["Cu", "Cu"], [[0, 0, 0], [0.01, 0, 0]])
    overlap.to(filename=str(tmp_path / "overlap.cif"))
    with pytest.raises(io.StructureError, match="broken.cif: malformed CIF"):
        io.read_structures(tmp_path)
    with pytest.raises(io.StructureError, match=r"overlap.cif: overlapping atoms: sites 0 and 1 are 0.040 A"):
        io.read_structure(tmp_path / "overlap.cif")
    with pytest.warns(UserWarning, match="skipped"):
        data = io.read_structures(tmp_path, skip_invalid=True)
    assert [n.split("/")[-1] for n in data.names] == ["good.cif"]


def test_unknown_element_is_refused():
    from pymatgen.core import DummySpecies

    s = Structure(Lattice.cubic(4.0), [DummySpecies("X")], [[0, 0, 0]])
    with pytest.raises(io.StructureError, match="my.cif: site 0 has unknown element"):
        io.validate_structure(s, "my.cif")
    with pytest.raises(io.StructureError, match="partial occupancies"):
        io.validate_structure(Structure(Lattice.cubic(4.0), [{"Cu": 0.5, "Au": 0.5}], [[0, 0, 0]]), "x")


def test_csv_table_of_files_and_json_table_of_structures(tmp_path):
    structures = [random_structure(i) for i in range(3)]
    for i, s in enumerate(structures):
        s.to(filename=str(tmp_path / f"s{i}.cif"))
    with (tmp_path / "targets.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "e_form"])
        w.writerows([[f"s{i}.cif", 0.1 * i] for i in range(3)])
    data = io.read_table(tmp_path / "targets.csv")
    assert np.allclose(data.targets, [0.0, 0.1, 0.2]) and all(_same(a, b) for a, b in zip(data.structures, structures))
    records = [{"structure": s.as_dict(), "id": f"x{i}", "band_gap": float(i)} for i, s in enumerate(structures)]
    records.append({"structure": structures[0].to(fmt="cif"), "band_gap": 7.0})
    (tmp_path / "t.json").write_text(json.dumps(records))
    data = io.read_table(tmp_path / "t.json")
    assert data.names[:3] == ["x0", "x1", "x2"] and data.targets.tolist() == [0.0, 1.0, 2.0, 7.0]
    assert _same(data.structures[3], structures[0])


def test_table_errors_name_line_and_field(tmp_path):
    random_structure(0).to(filename=str(tmp_path / "s.cif"))
    (tmp_path / "t.csv").write_text("file,y\ns.cif,0.5\ns.cif,abc\n")
    with pytest.raises(ValueError, match=r"t.csv: line 3: field 'y' must be a number, got 'abc'"):
        io.read_table(tmp_path / "t.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(io.read_table(tmp_path / "t.csv", skip_invalid=True).structures) == 1
    (tmp_path / "u.csv").write_text("file,a,b\ns.cif,1,2\n")
    with pytest.raises(ValueError, match="cannot tell the target column"):
        io.read_table(tmp_path / "u.csv")


def test_matbench_round_trip(tmp_path):
    data = io.LabelledStructures([random_structure(i) for i in range(3)], ["a", "b", "c"], np.array([1.0, 2.0, 3.0]))
    path = io.write_matbench(tmp_path / "d.json.gz", data, "e_form")
    back = io.read_any(path)
    assert back.names == ["a", "b", "c"] and np.allclose(back.targets, data.targets)
    assert all(_same(x, y) for x, y in zip(back.structures, data.structures))
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="bad.json.gz: not a gzipped JSON"):
        io.read_matbench(tmp_path / "bad.json.gz")
