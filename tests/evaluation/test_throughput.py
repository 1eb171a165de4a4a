"""The throughput suite: records per kernel, ratios to softmax, and a memory meter that scales right."""

import pytest

from sciformers.evaluation import run_pipeline
from sciformers.attention_suites.kernel_timing import KernelCase, measure_memory


def test_throughput_smoke_records_speed_and_ratio(tmp_path):
    result = run_pipeline(
        "attention/throughput",
        overrides=["data.lengths=[32, 64]", "data.min_run_time=0.01", "data.memory=false"],
        out=tmp_path / "tp",
        quiet=True,
    )
    by_model = {r.model: r for r in result.records}
    assert set(by_model) == {"softmax", "softmax-causal", "linear", "linear-causal", "sinkhorn"}
    assert by_model["softmax"].metrics.keys() == {"fwd_tok_s_n32", "fwd_tok_s_n64", "fwdbwd_tok_s_n32", "fwdbwd_tok_s_n64"}
    lin = by_model["linear-causal"]
    ratio = lin.metrics["fwd_tok_s_n64"] / by_model["softmax-causal"].metrics["fwd_tok_s_n64"]
    assert lin.metrics["fwd_speedup_n64"] == pytest.approx(ratio)
    assert lin.higher_is_better["fwd_speedup_n64"] is True
    assert by_model["softmax"].hardware["mm_gflops"] > 0
    assert "tokens/s" in result.report_md.read_text()


def test_memory_meter_sees_quadratic_and_linear_growth():
    sink = KernelCase("sinkhorn", {"n_iter": 3}, False, "fwd", 1, 4, 64, "float32")
    peaks = measure_memory(sink, [1024, 2048], threads=1)
    # Sinkhorn keeps N^2 logits per head: 4 heads x 2048^2 x 4 B = 64 MiB at least.
    assert peaks[2048] > 64 and 2.5 < peaks[2048] / peaks[1024] < 5.5
    lin = KernelCase("linear", {}, True, "fwd", 1, 4, 64, "float32")
    peaks = measure_memory(lin, [8192, 16384], threads=1)
    assert peaks[16384] / peaks[8192] < 2.6
