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


def test_self_image_closer_than_every_cell_length_is_refused():
    # issue 24: min(a, b, c) = 4 A, but b - a is a lattice vector of 0.41 A
    s = Structure(Lattice([[4.0, 0, 0], [4.0, 0.41, 0], [0, 0, 4.0]]), ["Cu"], [[0, 0, 0]])
    assert min(s.lattice.abc) > 3.9
    with pytest.raises(io.StructureError, match=r"skew.cif: each atom is 0.410 A from its own periodic image"):
        io.validate_structure(s, "skew.cif")


def test_malformed_cif_says_which_file_and_what_is_missing(tmp_path):
    # issue 24: this file surfaced pymatgen's 'integer modulo by zero'
    (tmp_path / "broken.cif").write_text("data_x\n_cell_length_a 3.0\nloop_\n_atom_site_label\n")
    with pytest.raises(io.StructureError) as err:
        io.read_structure(tmp_path / "broken.cif")
    message = str(err.value)
    assert message.startswith(str(tmp_path / "broken.cif") + ": malformed CIF: data block 'x'")
    assert "modulo" not in message
    assert "_cell_length_b" in message and "_cell_angle_gamma" in message and "_atom_site_fract_x" in message
    (tmp_path / "text.cif").write_text("not a cif\n")
    with pytest.raises(io.StructureError, match=r"text.cif: malformed CIF: no data_ block"):
        io.read_structure(tmp_path / "text.cif")


def test_cif_with_several_data_blocks_reads_every_block(tmp_path):
    a, b = random_structure(2), random_structure(3, species=("Pt",))
    text = "data_global\n_publ_section_title 'two cells'\n\n" + a.to(fmt="cif").replace("data_", "data_first_", 1)
    text += "\n" + b.to(fmt="cif").replace("data_", "data_second_", 1)
    (tmp_path / "two.cif").write_text(text)
    data = io.read_structures(tmp_path)
    assert [n.split("/")[-1].split(":")[1].split("_")[0] for n in data.names] == ["first", "second"]
    assert _same(data.structures[0], a) and _same(data.structures[1], b)
    with pytest.warns(UserWarning, match=r"two.cif: 2 data blocks with structures; took the first \('first_"):
        assert _same(io.read_structure(tmp_path / "two.cif"), a)
    # a bad second block is named
    (tmp_path / "two.cif").write_text(text + "\ndata_third\n_cell_length_a 3.0\n")
    with pytest.raises(io.StructureError, match=r"two.cif: malformed CIF: data block 'third' lacks _cell_length_b"):
        io.read_structures(tmp_path / "two.cif")


def test_targets_that_look_like_mev_or_per_cell_totals_are_flagged():
    rng = np.random.default_rng(0)
    n = rng.integers(2, 17, 200)
    e = rng.normal(0.05, 0.07, 200)  # eV/atom, like the EMT formation energies
    assert io.target_unit_warnings(e, n, "t.csv") == []
    (mev,) = io.target_unit_warnings(1000 * e, n, "t.csv")
    assert mev.startswith("t.csv: the median |target| is") and "meV/atom" in mev
    (cell,) = io.target_unit_warnings(e * n, n, "t.csv")
    assert "per-cell totals" in cell
    # DFT total energies per cell: per-cell, and per atom a plausible -4 eV/atom, not meV
    (total,) = io.target_unit_warnings((-4 + e) * n, n, "t.csv")
    assert "per-cell totals" in total
    assert len(io.target_unit_warnings(1000 * e * n, n, "t.csv")) == 2


def test_ase_atoms_are_structures_too():
    from ase.build import bulk

    atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
    s = io.validate_structure(atoms, "atoms")
    assert isinstance(s, Structure) and len(s) == 4 and np.allclose(s.lattice.matrix, atoms.cell[:])
    atoms.pbc = [True, True, False]
    with pytest.raises(io.StructureError, match=r"atoms: an ASE Atoms must be a crystal"):
        io.validate_structure(atoms, "atoms")
