"""The macro generator: a small causal transformer over stage tuples, prompted with the task and a budget.

A skeleton is written as tokens ``channels, stride, repeats`` per stage, then ``EOS``. The prompt (number
of classes, input size, log parameter and FLOPs budgets, and the log cost of the cell that will fill the
skeleton) is projected to one embedding that precedes ``BOS``. Sampling masks the vocabulary to the grammar
(a channel token or EOS, then a stride, then a repeat count; at most `MAX_CELLS` cells), so every sample is
a valid skeleton.

Training pairs (`training_pairs`) are hindsight-labelled: a random skeleton with a random cell is costed
analytically (`cost.macro_cost`) and its prompt's budgets are that cost times a random slack in
``[1, max_slack]``, so the model learns "a skeleton that fits under this budget, using a good part of it".
The cell enters the prompt because it sets the cost per channel (an all-skip cell costs nothing, a cell of
six MBConv-6 nodes ~70 C^2 per pixel).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .cell import Cell, sample_cell
from .cost import cell_cost, macro_cost
from .skeleton import CHANNEL_STEP, MAX_CELLS, MAX_CHANNELS, Macro, Stage

__all__ = ["MacroConfig", "MacroTransformer", "PROMPT_DIM", "cell_features", "fit_macro_model", "load_macro_model",
           "prompt_vector", "sample_prior_skeleton", "save_macro_model", "stages_to_tokens", "train_macro_model",
           "training_pairs"]

N_CH = MAX_CHANNELS // CHANNEL_STEP  # 128 channel tokens
STRIDE0, REPEAT0 = N_CH, N_CH + 2
MAX_REPEATS = 4
EOS, BOS = REPEAT0 + MAX_REPEATS, REPEAT0 + MAX_REPEATS + 1
VOCAB = BOS + 1


@dataclass(frozen=True)
class MacroConfig:
    width: int = 128
    layers: int = 4
    heads: int = 4
    max_stages: int = 5
    epochs: int = 12  # on 10 000 hindsight pairs: 57 % of samples within budget (docs/generation.md)
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0


PROMPT_DIM = 6


def cell_features(cell: Cell | None) -> list[float]:
    """log10 parameters / 6 and log10 FLOPs per pixel / 6 of ``cell`` at 64 channels (zeros for None)."""
    if cell is None:
        return [0.0, 0.0]
    params, flops, _ = cell_cost(cell, 64, 64, 1, (1, 1))
    return [math.log10(max(params, 1)) / 6, math.log10(max(flops, 1)) / 6]


def prompt_vector(classes: int, input_size: int, params: float, flops: float, cell: Cell | None = None) -> torch.Tensor:
    """(`PROMPT_DIM`,) float32: log classes, input size / 224, log10 params / 8, log10 FLOPs / 10, and
    `cell_features` of the cell that will fill the skeleton."""
    return torch.tensor([math.log10(max(classes, 1)) / 3, input_size / 224, math.log10(max(params, 1)) / 8,
                         math.log10(max(flops, 1)) / 10, *cell_features(cell)], dtype=torch.float32)


def stages_to_tokens(stages: Sequence[Stage]) -> list[int]:
    out = [BOS]
    for s in stages:
        out += [s.channels // CHANNEL_STEP - 1, STRIDE0 + (s.stride - 1), REPEAT0 + min(s.repeats, MAX_REPEATS) - 1]
    return out + [EOS]


class MacroTransformer(nn.Module):
    def __init__(self, config: MacroConfig = MacroConfig()) -> None:
        super().__init__()
        self.config = config
        d = config.width
        self.length = 2 + 3 * config.max_stages + 1
        self.tok = nn.Embedding(VOCAB, d)
        self.pos = nn.Embedding(self.length + 1, d)
        self.prompt = nn.Linear(PROMPT_DIM, d)
        layer = nn.TransformerEncoderLayer(d, config.heads, 2 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.body = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.head = nn.Linear(d, VOCAB)

    def forward(self, prompt: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, VOCAB) for the token after each of ``tokens`` (B, T)."""
        h = torch.cat([self.prompt(prompt)[:, None], self.tok(tokens)], 1)
        h = h + self.pos(torch.arange(h.shape[1]))[None]
        mask = nn.Transformer.generate_square_subsequent_mask(h.shape[1])
        return self.head(self.body(h, mask=mask, is_causal=True))[:, 1:]

    def _allowed(self, step: int, cells: int, stages: int) -> torch.Tensor:
        ok = torch.zeros(VOCAB, dtype=torch.bool)
        kind = step % 3
        if kind == 0:
            if stages < self.config.max_stages and cells < MAX_CELLS:
                ok[:N_CH] = True
            ok[EOS] = stages > 0
        elif kind == 1:
            ok[STRIDE0:STRIDE0 + 2] = True
            ok[STRIDE0 + 1] = stages > 0  # the first stage keeps the stem's resolution
        else:
            ok[REPEAT0:REPEAT0 + min(MAX_REPEATS, MAX_CELLS - cells)] = True
        return ok

    @torch.no_grad()
    def sample(self, prompt: torch.Tensor, n: int = 1, temperature: float = 1.0,
               generator: torch.Generator | None = None) -> list[list[Stage]]:
        """``n`` skeletons (stage cell index 0) for one prompt (4,)."""
        out = []
        for _ in range(n):
            tokens, stages, cells, cur = [BOS], [], 0, []
            for step in range(3 * self.config.max_stages + 1):
                logits = self(prompt[None], torch.tensor([tokens]))[0, -1] / max(temperature, 1e-3)
                logits[~self._allowed(step, cells, len(stages))] = -float("inf")
                t = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator))
                if t == EOS:
                    break
                tokens.append(t)
                cur.append(t)
                if len(cur) == 3:
                    ch, st, rep = (cur[0] + 1) * CHANNEL_STEP, cur[1] - STRIDE0 + 1, cur[2] - REPEAT0 + 1
                    stages.append(Stage(0, ch, st, rep))
                    cells += rep
                    cur = []
            out.append(stages)
        return out


def fit_macro_model(prompts: torch.Tensor, skeletons: Sequence[Sequence[Stage]], config: MacroConfig = MacroConfig(),
                    log: callable | None = None) -> MacroTransformer:
    """Next-token cross-entropy on (prompt, skeleton) pairs; sequences are padded with EOS (masked)."""
    torch.manual_seed(config.seed)
    model = MacroTransformer(config)
    seqs = [stages_to_tokens(s) for s in skeletons]
    length = max(len(s) for s in seqs)
    tokens = torch.full((len(seqs), length), EOS)
    valid = torch.zeros(len(seqs), length, dtype=torch.bool)
    for i, s in enumerate(seqs):
        tokens[i, :len(s)] = torch.tensor(s)
        valid[i, :len(s)] = True
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(config.epochs, 1))
    for epoch in range(config.epochs):
        perm = torch.randperm(len(seqs))
        total = 0.0
        for i in range(0, len(seqs), config.batch_size):
            idx = perm[i:i + config.batch_size]
            logits = model(prompts[idx], tokens[idx, :-1])
            target, keep = tokens[idx, 1:], valid[idx, 1:]
            loss = nn.functional.cross_entropy(logits[keep], target[keep])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx) / len(seqs)
        sched.step()
        if log:
            log(epoch, {"ce": total})
    model.eval()
    return model


def sample_prior_skeleton(rng: np.random.Generator, max_stages: int = 5, max_repeats: int = MAX_REPEATS,
                          min_channels: int = 8, max_channels: int = 512) -> list[Stage]:
    """The training prior: 1..``max_stages`` stages, channels log-uniform in ``[min, max]`` (so small
    budgets get as many examples as large ones) and non-decreasing, 1..``max_repeats`` repeats, stride 2 at
    random after the first stage."""
    n = int(rng.integers(1, max_stages + 1))
    logc = rng.uniform(math.log(min_channels), math.log(max_channels), n)
    chans = np.sort(np.clip(np.round(np.exp(logc) / CHANNEL_STEP), 1, MAX_CHANNELS // CHANNEL_STEP)) * CHANNEL_STEP
    stages, total = [], 0
    for i in range(n):
        reps = min(int(rng.integers(1, max_repeats + 1)), MAX_CELLS - total - (n - i - 1))
        stages.append(Stage(0, int(chans[i]), 1 if i == 0 else int(rng.integers(1, 3)), max(reps, 1)))
        total += max(reps, 1)
    return stages


def training_pairs(n: int, seed: int = 0, input_sizes: Sequence[int] = (32,), classes: Sequence[int] = (10, 100),
                   max_slack: float = 4.0, stem: int = 16, head: int = 64,
                   cells: Sequence[Cell] | None = None) -> tuple[torch.Tensor, list[list[Stage]], np.ndarray]:
    """``n`` hindsight-labelled (prompt, skeleton) pairs and each network's (params, FLOPs) (N, 2).

    A pair draws a cell (from ``cells``, else `sample_cell`), a prior skeleton, an input size and a class
    count, costs the network analytically, and sets each budget to cost x slack (log-uniform in
    ``[1, max_slack]``, independently for parameters and FLOPs)."""
    rng = np.random.default_rng(seed)
    prompts, skels, costs = [], [], []
    for _ in range(n):
        cell = cells[int(rng.integers(len(cells)))] if cells else sample_cell(rng)
        stages = sample_prior_skeleton(rng)
        size, k = int(rng.choice(input_sizes)), int(rng.choice(classes))
        params, flops = macro_cost(Macro((cell,), tuple(stages), stem=stem, head=head, num_classes=k), size)
        slack = np.exp(rng.uniform(0, math.log(max_slack), 2))
        prompts.append(prompt_vector(k, size, params * slack[0], flops * slack[1], cell))
        skels.append(stages)
        costs.append((params, flops))
    return torch.stack(prompts), skels, np.asarray(costs, dtype=np.float64)


def train_macro_model(n_pairs: int = 10000, seed: int = 0, config: MacroConfig = MacroConfig(),
                      log: Callable[[int, dict], None] | None = None, **pair_kwargs) -> MacroTransformer:
    """`training_pairs` then `fit_macro_model` (seconds to minutes on one CPU thread)."""
    prompts, skels, _ = training_pairs(n_pairs, seed, **pair_kwargs)
    model = fit_macro_model(prompts, skels, config, log)
    model.stats = {"n_pairs": n_pairs, "seed": seed, **{k: list(v) if isinstance(v, tuple) else v
                                                        for k, v in pair_kwargs.items()}}
    return model


def save_macro_model(model: MacroTransformer, path: str | os.PathLike) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save({"config": asdict(model.config), "state": model.state_dict(),
                "stats": getattr(model, "stats", {})}, path)


def load_macro_model(path: str | os.PathLike) -> MacroTransformer:
    """Raises FileNotFoundError with the command that trains one."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"No macro transformer at {path}: train one with `nar generate --train-macro --macro {path}`")
    s = torch.load(path, weights_only=False)
    model = MacroTransformer(MacroConfig(**s["config"]))
    model.load_state_dict(s["state"])
    model.stats = s.get("stats", {})
    return model.eval()
