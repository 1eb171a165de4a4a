"""The crystals/emt_eform pipeline end to end, the datasets, the user API and `sciformers predict crystals`."""

import csv
import json

import numpy as np
import pytest

from sciformers.core import ConfigError, create_model
from sciformers.evaluation import get_dataset, get_task, read_records, resolve, run_pipeline
from sciformers.evaluation.cli import main

from .conftest import random_structure

FAST = ["data.n_structures=40", "train.steps=2", "train.batch_size=16"]


def test_presets_resolve_and_bench_is_large_enough():
    for preset in ("smoke", "bench", "full"):
        rp = resolve("crystals/emt_eform", preset)
        assert set(rp.config.models) == {"crystals.icomformer", "crystals.ecomformer", "cgcnn", "schnet"}
    bench = resolve("crystals/emt_eform", "bench")
    assert bench.data.n_structures * (1 - bench.data.test_fraction - bench.data.val_fraction) >= 2000
    assert len(bench.train.seeds) == 3
    with pytest.raises(ConfigError, match=r"data\.n_structure: unknown key"):
        resolve("crystals/emt_eform", "smoke", ["data.n_structure=10"])
    with pytest.raises(ConfigError, match=r"data\.graph\.kk: unknown key"):
        resolve("crystals/emt_eform", "smoke", ["data.graph.kk=3"])


def test_smoke_pipeline_writes_records_report_plots_and_a_usable_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    result = run_pipeline("crystals/emt_eform", preset="smoke", overrides=FAST, out=out, quiet=True)
    records = read_records(out / "records.jsonl")
    assert sorted(r.model for r in records) == ["cgcnn", "crystals.ecomformer", "crystals.icomformer", "mean", "schnet"]
    for r in records:
        assert set(r.metrics) == {"mae_mev", "rmse_mev"} and r.higher_is_better == {"mae_mev": False, "rmse_mev": False}
        assert r.metrics["rmse_mev"] >= r.metrics["mae_mev"] > 0
        assert r.task == "crystals.emt_eform" and r.n_params >= 0
    report = result.report_md.read_text()
    assert "mean (baseline)" in report and "mae_mev / mean" in report and "icomformer" in report
    assert {p.name for p in (out / "plots").iterdir()} >= {"crystals_emt_eform_parity.png", "crystals_emt_eform_curves.png"}
    preds = json.loads((out / "predictions" / "crystals.emt_eform" / "crystals.icomformer_seed0.json").read_text())
    assert len(preds["y_true"]) == len(preds["y_pred"]) == 4 and preds["history"]
    # the run's checkpoint predicts CIF files through the CLI, one line per structure, a CSV under --out only
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    random_structure(0).to(filename=str(inputs / "new.cif"))
    ckpt = str(out / "checkpoints/crystals.icomformer/seed0/final")
    assert main(["predict", "crystals", "--checkpoint", ckpt, "--out", str(tmp_path / "pred"), str(inputs)]) == 0
    header, line = capsys.readouterr().out.strip().splitlines()[-2:]
    assert header == "prediction (eV/atom)\tfile"
    value, name = line.split("\t")
    assert name.endswith("new.cif") and np.isfinite(float(value))
    assert sorted(p.name for p in inputs.iterdir()) == ["new.cif"]
    rows = (tmp_path / "pred" / "predictions.csv").read_text().splitlines()
    assert rows[0] == "file,prediction,units" and rows[1].startswith(str(inputs / "new.cif") + ",")
    assert rows[1].endswith(",eV/atom")
    # a CIF of two data blocks gives two rows; elements never seen in training get a warning on stderr
    fe_o = random_structure(1, species=("Fe", "O"))
    (inputs / "two.cif").write_text(fe_o.to(fmt="cif").replace("data_", "data_a_", 1) + "\n"
                                    + random_structure(2).to(fmt="cif").replace("data_", "data_b_", 1))
    assert main(["predict", "crystals", "--checkpoint", ckpt, "--out", str(tmp_path / "p1"), str(inputs)]) == 0
    captured = capsys.readouterr()
    names = [row.split(",")[0] for row in (tmp_path / "p1" / "predictions.csv").read_text().splitlines()[1:]]
    assert [n.split("/")[-1].split("_")[0] for n in names] == ["new.cif", "two.cif:a", "two.cif:b"]
    assert "sciformers: warning: " in captured.err and "two.cif:a_" in captured.err
    assert "O, Fe never seen in training" in captured.err and "two.cif:b_" not in captured.err
    (inputs / "two.cif").unlink()
    (inputs / "bad.cif").write_text("not a cif")
    assert main(["predict", "crystals", "--checkpoint", ckpt, "--out", str(tmp_path / "p2"), str(inputs)]) == 2
    assert "bad.cif: malformed CIF" in capsys.readouterr().err
    # --skip-invalid: the bad file is reported, the rest predicted; nothing valid at all exits 1
    assert main(["predict", "crystals", "--checkpoint", ckpt, "--out", str(tmp_path / "p3"), "--skip-invalid",
                 str(inputs)]) == 0
    captured = capsys.readouterr()
    assert "skipped " in captured.err and "bad.cif" in captured.err and "new.cif" in captured.out
    assert main(["predict", "crystals", "--checkpoint", ckpt, "--out", str(tmp_path / "p4"), "--skip-invalid",
                 str(inputs / "bad.cif")]) == 1


def test_quick_start_trains_on_a_folder_of_cifs_and_predicts_a_new_one(tmp_path):
    from sciformers.crystals import CrystalModel, read_table

    folder = tmp_path / "cifs"
    folder.mkdir()
    with (folder / "targets.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "e_form"])
        for i in range(12):
            random_structure(i).to(filename=str(folder / f"{i}.cif"))
            w.writerow([f"{i}.cif", 0.05 * i])
    data = read_table(folder / "targets.csv")
    model = create_model("crystals.icomformer", preset="small", dim=16, rbf_bins=16)
    fit = model.fit(data.structures, data.targets, {"epochs": 2, "batch_size": 4, "val_fraction": 0.25}, quiet=True)
    assert fit.steps == 6  # 9 training structures, batches of 4, 2 epochs
    assert model.target_mean.item() == pytest.approx(data.targets.mean())
    model.save(tmp_path / "model")
    loaded = CrystalModel.from_checkpoint(tmp_path / "model")
    pred = loaded.predict([random_structure(99)])
    assert pred.shape == (1,) and np.isfinite(pred).all()
    # ASE Atoms predict like the same pymatgen structure, one or in a list; unseen elements warn
    from pymatgen.io.ase import AseAtomsAdaptor

    s = random_structure(98)
    atoms = AseAtomsAdaptor.get_atoms(s)
    assert np.allclose(loaded.predict([atoms, s]), loaded.predict(s)[0], atol=1e-6)
    assert loaded.elements == sorted({site.specie.Z for x in data.structures for site in x})
    with pytest.warns(UserWarning, match=r"structure 0: Fe never seen in training \(trained on "):
        loaded.predict([random_structure(97, species=("Fe", "Cu"))])


def test_user_folder_as_pipeline_data(tmp_path):
    folder = tmp_path / "cifs"
    folder.mkdir()
    rows = []
    for i in range(20):
        random_structure(i).to(filename=str(folder / f"{i}.cif"))
        rows.append(f"{i}.cif,{0.01 * i}")
    (folder / "targets.csv").write_text("file,e_form\n" + "\n".join(rows) + "\n")
    task = get_task("crystals.emt_eform")
    splits = task.load(task.data_schema.parse({"path": str(folder), "graph": {"k": 4}}))
    assert [len(splits.train), len(splits.val), len(splits.test)] == [16, 2, 2]
    with pytest.raises(FileNotFoundError, match="without targets.csv"):
        task.load(task.data_schema.parse({"path": str(tmp_path)}))


def test_matbench_table_through_data_path_end_to_end(tmp_path):
    # a Matbench-format json.gz (real files load the same way) run through the whole pipeline
    from sciformers.crystals import emt, write_matbench

    data = emt.generate(30, seed=5)
    path = write_matbench(tmp_path / "matbench_emt.json.gz", data, "e_form")
    out = tmp_path / "run"
    run_pipeline("crystals/emt_eform", preset="smoke", overrides=[f"data.path={path}", "train.steps=2"],
                 out=out, quiet=True, models=["crystals.icomformer", "cgcnn"])
    records = read_records(out / "records.jsonl")
    assert sorted(r.model for r in records) == ["cgcnn", "crystals.icomformer", "mean"]
    assert all(np.isfinite(r.metrics["mae_mev"]) for r in records)
    preds = json.loads((out / "predictions" / "crystals.emt_eform" / "cgcnn_seed0.json").read_text())
    assert len(preds["y_true"]) == 3 and all(np.isclose(data.targets, y, atol=1e-12).any() for y in preds["y_true"])
    # the same energies as meV per cell are flagged
    write_matbench(tmp_path / "mev_cell.json.gz", type(data)(data.structures, data.names,
                   1000 * data.targets * np.array([len(s) for s in data.structures])), "e_form")
    task = get_task("crystals.emt_eform")
    with pytest.warns(UserWarning) as caught:
        task.load(task.data_schema.parse({"path": str(tmp_path / "mev_cell.json.gz")}))
    messages = [str(w.message) for w in caught]
    assert any("per-cell totals" in m for m in messages) and any("meV/atom" in m for m in messages)


def test_datasets_are_registered_and_build(tmp_path):
    from sciformers.crystals import read_matbench

    entry = get_dataset("crystals.emt_eform")
    (path,) = entry.build(entry.schema.parse({"n_structures": 12}))
    data = read_matbench(path)
    assert len(data.structures) == 12 and all(2 <= len(s) <= 16 for s in data.structures)
    entry = get_dataset("crystals.dcdft")
    (path,) = entry.build(entry.schema.parse({}))
    data = read_matbench(path)
    assert len(data.structures) == 71 and data.targets.max() > 100  # B0 in GPa (diamond-like B, C)
