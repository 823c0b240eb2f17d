"""The macro generator: a small causal transformer over stage tuples, prompted with the task and a budget.

A skeleton is written as tokens ``channels, stride, repeats`` per stage, then ``EOS``. The prompt (number
of classes, input size, log parameter and FLOPs budgets) is projected to one embedding that precedes
``BOS``. Sampling masks the vocabulary to the grammar (a channel token or EOS, then a stride, then a
repeat count; at most `MAX_CELLS` cells), so every sample is a valid skeleton.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .skeleton import CHANNEL_STEP, MAX_CELLS, MAX_CHANNELS, Stage

__all__ = ["MacroConfig", "MacroTransformer", "fit_macro_model", "prompt_vector", "stages_to_tokens"]

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
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0


def prompt_vector(classes: int, input_size: int, params: float, flops: float) -> torch.Tensor:
    """(4,) float32: log classes, input size / 224, log10 params / 8, log10 FLOPs / 10."""
    return torch.tensor([math.log10(max(classes, 1)) / 3, input_size / 224, math.log10(max(params, 1)) / 8,
                         math.log10(max(flops, 1)) / 10], dtype=torch.float32)


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
        self.prompt = nn.Linear(4, d)
        layer = nn.TransformerEncoderLayer(d, config.heads, 2 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.body = nn.TransformerEncoder(layer, config.layers)
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
        if log:
            log(epoch, {"ce": total})
    model.eval()
    return model
