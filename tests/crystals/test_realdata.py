"""Real DFT structures shipped by installed wheels, read in place."""

import json

import numpy as np
import pytest

from sciformers.crystals import realdata

from .conftest import random_structure


def test_dcdft_has_71_elemental_crystals_with_wien2k_data():
    data = realdata.load_dcdft("volume")
    assert len(data.structures) == 71
    for s, name, v in zip(data.structures, data.names, data.targets):
        assert {str(e) for e in s.composition.elements} == {name}
        assert s.volume / len(s) == pytest.approx(v, rel=0.05)  # the cells lie within 4% of the WIEN2k volume


def test_li_o_reader_on_a_file_in_m3gnet_layout(tmp_path):
    entries = {f"mp-{i}": {"structure": random_structure(i, species=("Li", "O")).as_dict(), "energy": -4.0 * (i + 1),
                           "band_gap": 0.5 * i} for i in range(3)}
    path = tmp_path / "Li-O.json"
    path.write_text(json.dumps(entries))
    data = realdata.load_li_o(path=path)
    assert data.names == ["mp-0", "mp-1", "mp-2"]
    assert np.allclose(data.targets, [-1.0, -2.0, -3.0])  # total energy / 4 atoms
    assert np.allclose(realdata.load_li_o("band_gap", path=path).targets, [0.0, 0.5, 1.0])


def test_installed_li_o_file_if_present():
    try:
        data = realdata.load_li_o()
    except FileNotFoundError as err:
        assert "pip install --no-deps m3gnet==0.2.4" in str(err)
        pytest.skip("m3gnet is not installed")
    assert len(data.structures) == 47


@pytest.mark.slow
def test_icomformer_overfits_dcdft_bulk_moduli():
    from sciformers.core import create_model

    data = realdata.load_dcdft("B0")
    model = create_model("crystals.icomformer", preset="small", dim=32)
    model.fit(data.structures, np.log(data.targets), {"epochs": 150, "batch_size": 16, "val_fraction": 0,
                                                      "lr": 2e-3, "schedule": "onecycle", "warmup": 0.3}, quiet=True)
    pred = model.predict(data.structures)
    assert np.abs(pred - np.log(data.targets)).mean() < 0.1 * np.abs(np.log(data.targets) - np.log(data.targets).mean()).mean()
