"""``sciformers predict neuro``: generated spikes (and decoded behaviour) of a recording, as a new NWB file.

``sciformers predict neuro --checkpoint run/checkpoints/neuroformer/seed0/final --out DIR rec.nwb ...``
reads each NWB recording (units table; the behaviour series the model was trained with, when it
takes behaviour), generates spikes window by window after the first past window (open loop:
each window from the recorded past; closed loop: from its own) and writes
``DIR/<name>_generated.nwb``: the generated spikes as its units table and, when a behaviour
decoder sits beside the checkpoint (``behavior_decoder/``, written by the pipeline) or is named
with ``--option decoder=PATH``, the behaviour decoded from the *recorded* spikes of each window
as ``processing['behavior']['decoded_<name>']`` at the window centres. Nothing is written beside
the inputs; a file that cannot be read, or whose units do not match the model, is an error
naming it (skipped with ``--skip-invalid``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sciformers.core import create_model, load_model_state
from sciformers.evaluation.datasets import PredictRequest, PredictResult, Predictor, input_files, register_predictor
from sciformers.neuro.generation import generate
from sciformers.neuro.model import Neuroformer
from sciformers.neuro.nwb import read_nwb, write_nwb
from sciformers.neuro.spikes import Behavior, SpikeData, SpikeDataError

OPTIONS = {
    "duration": "seconds to generate after the first past window (default: the whole recording)",
    "loop": "open (each window from the recorded past, default) or closed (from its own spikes)",
    "temperature": "sampling temperature of the next-token distribution (default 1.0)",
    "top_p": "nucleus mass of the next-token distribution (default 0.9)",
    "seed": "seeds the sampler (default 0)",
    "decoder": "behaviour decoder checkpoint (default: behavior_decoder/ beside the checkpoint, if there)",
}


def load_neuroformer(path: Path) -> tuple[Neuroformer, str | None]:
    """A Neuroformer checkpoint (``save_model`` layout) in eval mode, and the behaviour series it was trained with."""
    state, config = load_model_state(path, "neuro.neuroformer")
    model = create_model("neuro.neuroformer", **config.get("kwargs", {}))
    model.load_state_dict(state)
    return model.eval(), config.get("behavior")


def _decode(decoder: Neuroformer, data: SpikeData, starts: np.ndarray) -> np.ndarray:
    """Behaviour (in the training units) decoded from the recorded spikes of each window ``(W, D)``."""
    with torch.no_grad():
        z = torch.cat([decoder.predict(decoder.window_batch(data, starts[c:c + 256]))["behavior"]
                       for c in range(0, len(starts), 256)]).cpu().numpy()
    return z * decoder.behavior_std.cpu().numpy() + decoder.behavior_mean.cpu().numpy()


def _one(path: Path, model: Neuroformer, behavior: str | None, decoder: Neuroformer | None,
         request: PredictRequest) -> tuple[Path, SpikeData]:
    tok = model.tok
    wants = [behavior] if model.behavior_in is not None and behavior else []
    data = read_nwb(path, behavior_series=wants)
    if data.n_neurons != tok.n_neurons:
        raise SpikeDataError(f"{path}: {data.n_neurons} units, the checkpoint's model has {tok.n_neurons} neurons")
    available = data.duration - tok.past_window
    duration = float(request.option("duration") or available)
    if duration > available + 1e-9:
        raise SpikeDataError(f"{path}: duration={duration} s, the recording has {available:.6g} s after its first past window")
    loop = request.option("loop", "open")
    if loop not in ("open", "closed"):
        raise ValueError(f"--option loop: expected open or closed, got {loop!r}")
    (run,) = generate(model, data, duration, true_past=loop == "open", temperature=float(request.option("temperature", "1.0")),
                      top_p=float(request.option("top_p", "0.9")), seed=int(request.option("seed", "0")))
    beh = None
    starts = run.t_start + tok.window * np.arange(int(round((run.t_stop - run.t_start) / tok.window)))
    if decoder is not None and len(starts) >= 2:
        values, name = _decode(decoder, data, starts), f"decoded_{behavior or 'behavior'}"
        names = (name,) if values.shape[1] == 1 else tuple(f"{name}_{d}" for d in range(values.shape[1]))
        beh = Behavior(starts + tok.window / 2, values, names)
    out = SpikeData(run.times, run.ids, run.n_neurons, run.t_start, run.t_stop, behavior=beh)
    return write_nwb(out, request.out_dir / f"{path.stem}_generated.nwb",
                     f"sciformers.neuro: {loop}-loop generation from {path.name}"), out


def predict_neuro(request: PredictRequest) -> PredictResult:
    """One ``<name>_generated.nwb`` under ``request.out_dir`` per NWB input, and one line each.

    Raises:
        SpikeDataError: an unreadable or mismatched file, named in the message (unless ``skip_invalid``).
    """
    model, behavior = load_neuroformer(request.checkpoint)
    decoder_path = request.option("decoder") or Path(request.checkpoint).parent / "behavior_decoder"
    decoder = load_neuroformer(Path(decoder_path))[0] if Path(decoder_path).is_dir() else None
    result = PredictResult()
    for path in input_files(request.inputs, (".nwb",), "NWB file"):
        try:
            written, out = _one(path, model, behavior, decoder, request)
        except (SpikeDataError, FileNotFoundError, FileExistsError) as err:
            if not request.skip_invalid:
                raise
            result.skipped.append((str(path), str(err)))
            continue
        result.written.append(written)
        decoded = f", {out.behavior.names[0]}" if out.behavior is not None else ""
        result.lines.append(f"{written}\t{out.times.size} spikes on [{out.t_start:.6g}, {out.t_stop:.6g}) s{decoded}\t{path}")
    return result


register_predictor("neuro", Predictor(predict_neuro, "NWB recordings (*.nwb) with the checkpoint's neurons as units",
                                      OPTIONS))
