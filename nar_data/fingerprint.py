"""Content hashes: ``config_hash`` (before tracing), ``arch_id`` (after) and ``graph_digest`` (all of a graph).

``config_hash`` lets 10 000 fine-tunes of one base config be traced once; ``arch_id`` collapses
identical graphs that came from different configs (e.g. ``resnet50`` in timm and an HF repo of it): equal ops,
shapes, node attributes and edges.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Config keys that never change the architecture: names, paths, label maps, dtypes, versions, runtime knobs.
NON_ARCH_KEYS = frozenset({
    "_name_or_path", "name_or_path", "_commit_hash", "transformers_version", "torch_dtype", "dtype",
    "id2label", "label2id", "architectures", "auto_map", "task_specific_params", "finetuning_task",
    "problem_type", "tokenizer_class", "prefix", "bos_token_id", "eos_token_id", "pad_token_id",
    "sep_token_id", "decoder_start_token_id", "return_dict", "output_hidden_states", "output_attentions",
    "torchscript", "use_cache", "use_return_dict", "_attn_implementation", "_attn_implementation_autoset",
    "attn_implementation", "pretrained_cfg", "hf_hub_id", "hf_hub_filename", "url", "file", "license",
    "label_names", "num_classes_names", "mean", "std", "interpolation", "crop_pct", "crop_mode",
    "first_conv", "classifier", "tag", "origin_url", "paper_ids", "paper_name", "notes", "_from_model_config",
    "_name", "model_name", "label_smoothing", "initializer_range", "initializer_factor", "layer_norm_eps",
    "tie_word_embeddings_comment", "chunk_size_feed_forward", "is_encoder_decoder_comment",
    "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups",
    "diversity_penalty", "temperature", "top_k", "top_p", "typical_p", "repetition_penalty",
    "length_penalty", "no_repeat_ngram_size", "encoder_no_repeat_ngram_size", "bad_words_ids",
    "num_return_sequences", "output_scores", "return_dict_in_generate", "forced_bos_token_id",
    "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty",
    "suppress_tokens", "begin_suppress_tokens", "tf_legacy_loss", "use_bfloat16", "cross_attention_hidden_size",
})


def normalize_config(config: Any) -> Any:
    """Drop keys that do not change the architecture, recursively, and sort what is left."""
    if isinstance(config, dict):
        return {k: normalize_config(v) for k, v in sorted(config.items())
                if k not in NON_ARCH_KEYS and not k.startswith("_")}
    if isinstance(config, (list, tuple)):
        return [normalize_config(v) for v in config]
    if isinstance(config, float) and config.is_integer():
        return int(config)
    return config


def stable_hash(obj: Any, n: int = 16) -> str:
    """A hex digest of the canonical JSON of ``obj`` (keys sorted, non-JSON values by ``str``)."""
    blob = json.dumps(obj, sort_keys=True, default=str, separators=(",", ":")).encode()
    return hashlib.blake2b(blob, digest_size=n).hexdigest()


def config_hash(kind: str, config: Any) -> str:
    """Hash of ``(kind, normalised config)``; ``kind`` names what is built (class, entrypoint)."""
    return stable_hash([kind, normalize_config(config)])


def _h(s: str) -> bytes:
    return hashlib.blake2b(s.encode(), digest_size=8).digest()


def wl_labels(labels: Sequence[str], src: np.ndarray, dst: np.ndarray, iterations: int = 3) -> list[list[bytes]]:
    """Weisfeiler-Lehman relabelling with in- and out-neighbours kept apart (edges are directed).

    Returns the label of every node at every iteration (iteration 0 = the initial labels, hashed).
    """
    n = len(labels)
    preds: list[list[int]] = [[] for _ in range(n)]
    succs: list[list[int]] = [[] for _ in range(n)]
    for s, d in zip(src.tolist(), dst.tolist()):
        preds[d].append(s)
        succs[s].append(d)
    cur = [_h(lab) for lab in labels]
    history = [cur]
    for _ in range(iterations):
        nxt = []
        for i in range(n):
            ins = b"".join(sorted(cur[j] for j in preds[i]))
            outs = b"".join(sorted(cur[j] for j in succs[i]))
            nxt.append(hashlib.blake2b(cur[i] + b"<" + ins + b">" + outs, digest_size=8).digest())
        cur = nxt
        history.append(cur)
    return history


def node_labels(op_names: Sequence[str], shapes: Sequence[Sequence[int]],
                attrs: Sequence[str] | None = None) -> list[str]:
    """The WL start label of every node: ``op:shape``, then ``|attrs`` where the node has attributes."""
    labels = [f"{op}:{'x'.join(map(str, shape))}" for op, shape in zip(op_names, shapes)]
    if attrs is not None:
        labels = [f"{lab}|{a}" if a else lab for lab, a in zip(labels, attrs)]
    return labels


def arch_id(op_names: Sequence[str], shapes: Sequence[Sequence[int]], src: np.ndarray, dst: np.ndarray,
            iterations: int = 3, attrs: Sequence[str] | None = None) -> str:
    """WL hash of the graph over (op, output shape, attributes) labels: isomorphic graphs get equal ids.

    ``attrs`` (canonical JSON per node, `Graph.attrs`) tell apart graphs whose shapes agree but whose ops do
    not (a grouped vs a dense convolution, a linear layer with or without bias); ``None`` or ``""`` = none.
    """
    labels = node_labels(op_names, shapes, attrs)
    history = wl_labels(labels, np.asarray(src), np.asarray(dst), iterations)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{len(labels)}:{len(src)}".encode())
    for labels_at_k in history:
        for lab in sorted(labels_at_k):
            digest.update(lab)
    return digest.hexdigest()


def graph_digest(graph: Any) -> str:
    """Hash of everything a trace decides about a `Graph`, beyond what `arch_id` covers: node modules, parameter
    counts, dtypes, edge order, FLOPs, capture method, input spec and labels. Two traces of a model with equal
    digests are the same graph in every field but timings and versions (what a speed change must keep)."""
    return stable_hash([graph.arch_id, graph.op_name, graph.shape, graph.dtype, graph.module,
                        np.asarray(graph.params).tolist(),
                        graph.attrs, np.asarray(graph.src).tolist(), np.asarray(graph.dst).tolist(), graph.num_params,
                        graph.flops, graph.capture, graph.input_spec, graph.family, graph.coarse, graph.task])
