"""The ONNX embedding path: same vectors as torch, torch fallback, and a cache that heals itself.

The cache tests export a tiny stand-in graph (same inputs and output as the real one, a few KB) with
a numpy reference that computes the same vectors, so they run in milliseconds without torch; the
agreement test runs the real model both ways and is marked slow."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tracker import embed, onnx_model

pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

WIDTH = onnx_model.DIMENSIONS
FREQUENCIES = np.linspace(0.001, 0.05, WIDTH, dtype=np.float32)


def tiny_graph(target) -> None:
    """sentence_embedding = l2normalise(sin(sum of masked token ids * f)): cheap, text-dependent."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["input_ids", "attention_mask"], ["masked"]),
            helper.make_node("Cast", ["masked"], ["ids_float"], to=TensorProto.FLOAT),
            helper.make_node("ReduceSum", ["ids_float", "axis"], ["total"], keepdims=1),
            helper.make_node("Mul", ["total", "frequencies"], ["phase"]),
            helper.make_node("Sin", ["phase"], ["wave"]),
            helper.make_node("LpNormalization", ["wave"], ["sentence_embedding"], axis=1, p=2),
        ],
        "tiny",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "tokens"]) for name in onnx_model.INPUTS],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", WIDTH])],
        [numpy_helper.from_array(np.array([1], dtype=np.int64), "axis"), numpy_helper.from_array(FREQUENCIES[None, :], "frequencies")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(target))


def tiny_reference(texts: list[str]) -> np.ndarray:
    """What the tiny graph computes, in numpy, from the same tokenizer."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(onnx_model.model_dir() / "tokenizer.json"))
    tokenizer.enable_truncation(onnx_model.max_length())
    totals = np.array([[sum(e.ids)] for e in tokenizer.encode_batch(texts)], dtype=np.float32)
    wave = np.sin(totals * FREQUENCIES[None, :])
    return wave / np.linalg.norm(wave, axis=1, keepdims=True)


@pytest.fixture
def tiny_cache(tmp_path, monkeypatch):
    """A fresh cache folder whose exports are the tiny graph; yields the list of export calls."""
    monkeypatch.setenv("TRACKER_CACHE_DIR", str(tmp_path / "cache"))
    calls: list[str] = []

    def export(target) -> None:
        calls.append(str(target))
        tiny_graph(target)

    monkeypatch.setattr(onnx_model, "export_graph", export)
    return calls


def test_first_use_exports_then_reuses_the_cache(tiny_cache):
    encoder = onnx_model.load("fp32", reference=tiny_reference)
    model_path, manifest_path = onnx_model.export_paths("fp32")
    assert str(model_path).startswith(str(onnx_model.cache_dir())) and manifest_path.exists()
    assert [p.name for p in model_path.parent.iterdir() if p.name.endswith(".tmp")] == []
    texts = ["Integrated care boards should publish their plans.", "Short.", "word " * 400]
    assert onnx_model.min_cosine(encoder.encode(texts, batch_size=2), tiny_reference(texts)) > 0.9999
    onnx_model.load("fp32", reference=tiny_reference)
    assert len(tiny_cache) == 1  # the second load found the verified cache


@pytest.mark.parametrize("damage", ["truncate", "scramble", "no manifest", "bad manifest", "other model"])
def test_a_damaged_cache_is_detected_and_rebuilt(tiny_cache, damage):
    onnx_model.load("fp32", reference=tiny_reference)
    model_path, manifest_path = onnx_model.export_paths("fp32")
    data = model_path.read_bytes()
    if damage == "truncate":  # a half file, as a non-atomic copy or a full disk leaves it
        model_path.write_bytes(data[: len(data) // 2])
    elif damage == "scramble":  # same size, different bytes
        middle = len(data) // 2
        model_path.write_bytes(data[:middle] + bytes(b ^ 0x5A for b in data[middle : middle + 512]) + data[middle + 512 :])
    elif damage == "no manifest":  # killed between the two renames
        manifest_path.unlink()
    elif damage == "bad manifest":
        manifest_path.write_text("{not json")
    else:  # a file of the right size that does not reproduce the reference vectors
        manifest = json.loads(manifest_path.read_text())
        manifest["reference"] = onnx_model.to_text(-onnx_model.from_text(manifest["reference"]))
        manifest_path.write_text(json.dumps(manifest))
    assert onnx_model.open_verified("fp32") is None
    encoder = onnx_model.load("fp32", reference=tiny_reference)
    assert len(tiny_cache) == 2  # rebuilt once
    texts = list(onnx_model.PROBES)
    assert onnx_model.min_cosine(encoder.encode(texts), tiny_reference(texts)) > 0.9999


def test_a_killed_export_leaves_no_file_under_its_name(tiny_cache, monkeypatch):
    def dies_halfway(target) -> None:
        target.write_bytes(b"\x08\x07" * 1000)  # half a model
        raise KeyboardInterrupt  # what a kill looks like to the code around it

    monkeypatch.setattr(onnx_model, "export_graph", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        onnx_model.load("fp32", reference=tiny_reference)
    model_path, manifest_path = onnx_model.export_paths("fp32")
    assert not model_path.exists() and not manifest_path.exists()
    assert list(model_path.parent.iterdir()) == []  # no temp file left either


def test_an_export_that_disagrees_with_torch_is_refused(tiny_cache):
    def wrong(texts: list[str]) -> np.ndarray:
        return np.roll(tiny_reference(texts), 1, axis=1)

    with pytest.raises(onnx_model.OnnxUnavailable, match="disagrees"):
        onnx_model.load("fp32", reference=wrong)
    assert not onnx_model.export_paths("fp32")[0].exists()


class StubTorch:
    """Stands in for sentence-transformers: the fallback is exercised without loading torch."""

    def encode(self, texts, batch_size=64):
        return np.tile(np.eye(1, WIDTH, dtype=np.float32), (len(texts), 1))


def test_falls_back_to_torch_and_says_so_once(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    monkeypatch.setattr(embed, "TorchEncoder", StubTorch)
    monkeypatch.setattr(embed, "_FALLBACK_SAID", [])
    first, second = embed.Embedder("auto"), embed.Embedder("auto")
    assert first.encode(["a passage"]).shape == (1, WIDTH)
    assert second.encode(["another"]).shape == (1, WIDTH)
    assert first.backend == second.backend == "torch" and first.name == embed.MODEL_NAME
    err = capsys.readouterr().err
    assert err.count("embedding with torch") == 1 and "onnxruntime" in err
    with pytest.raises(ImportError):
        embed.Embedder("onnx").encode(["asked for ONNX explicitly: no silent fallback"])


def test_falls_back_to_torch_when_the_export_fails(tiny_cache, monkeypatch, capsys):
    def broken(target) -> None:
        raise RuntimeError("no exporter here")

    monkeypatch.setattr(onnx_model, "export_graph", broken)
    monkeypatch.setattr(embed, "TorchEncoder", StubTorch)
    monkeypatch.setattr(embed, "_FALLBACK_SAID", [])
    embedder = embed.Embedder("auto")
    embedder.encode(["a passage"])
    assert embedder.backend == "torch"
    assert "no exporter here" in capsys.readouterr().err


def test_int8_vectors_never_share_the_model_name():
    assert embed.Embedder("onnx-int8").name != embed.MODEL_NAME
    assert embed.Embedder("onnx").name == embed.Embedder("torch").name == embed.MODEL_NAME
    with pytest.raises(ValueError, match="unknown embedding backend"):
        embed.Embedder("gpu")


@pytest.mark.slow
def test_onnx_and_torch_vectors_agree():
    """The real export (cached, or made now from the packaged weights) against sentence-transformers."""
    texts = [
        "The government accepted the recommendation in principle.",
        "Integrated care boards should have fewer national targets and more freedom to set local priorities.",
        "NHS England launched the peer review programme with the Local Government Association in 2025, and the first reports were published in the spring.",
        "Yes.",
        "Section 75 " * 150,  # cut at 256 word pieces both ways
    ]
    onnx_vectors = embed.Embedder("onnx").encode(texts, batch_size=2)
    torch_vectors = embed.Embedder("torch").encode(texts)
    assert onnx_model.min_cosine(onnx_vectors, torch_vectors) >= onnx_model.MIN_COSINE
    assert np.allclose(np.linalg.norm(onnx_vectors, axis=1), 1.0, atol=1e-5)


def test_segmenting_does_not_import_torch_yet_torch_stays_importable():
    """spaCy's thinc imports torch when installed; `tracker.imports.torch_hidden` keeps it out of the
    ingest process (0.7 s, ~180 MB) without breaking a later `import torch`."""
    code = (
        "import sys, tracker.segment, thinc.compat\n"
        "print('torch' in sys.modules, thinc.compat.has_torch)\n"
        "tracker.segment.get_analyzer()\n"
        "import torch\n"
        "print(torch.tensor([1.0]).sum().item())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TRACKER_SPACY_MODEL"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False", "1.0"]
