"""A BERT encoder forward pass in numpy float32, with mean pooling, for sentence embedding.

This is the whole of sentence-transformers' all-MiniLM-L6-v2 at inference time: token +
position embeddings, N post-norm transformer layers (self-attention, then a GELU feed-forward
block), and a mean over the real (unpadded) tokens. Weights are rearranged once at load so the
hot loop is a handful of large ``matmul`` calls per layer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ._gelu import gelu_

_MASK_BIAS = np.float32(-1e30)  # added to attention scores of padding keys; exp() turns it into 0


@dataclass(frozen=True)
class BertConfig:
    """The shape of a BERT encoder (defaults: all-MiniLM-L6-v2)."""

    hidden: int = 384
    heads: int = 12
    layers: int = 6
    intermediate: int = 1536
    max_positions: int = 512
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_hf(cls, config: Mapping[str, object]) -> BertConfig:
        """Read a Hugging Face ``config.json`` dict; unsupported variants raise ``ValueError``."""
        act = config.get("hidden_act", "gelu")
        if act != "gelu":
            raise ValueError(f"hidden_act {act!r} is not supported (only BERT's exact 'gelu')")
        pos = config.get("position_embedding_type", "absolute")
        if pos != "absolute":
            raise ValueError(f"position_embedding_type {pos!r} is not supported")

        def num(key: str, default: float) -> float:
            value = config.get(key, default)
            if not isinstance(value, int | float):
                raise ValueError(f"config.json: {key} must be a number, got {value!r}")
            return value

        return cls(
            hidden=int(num("hidden_size", cls.hidden)),
            heads=int(num("num_attention_heads", cls.heads)),
            layers=int(num("num_hidden_layers", cls.layers)),
            intermediate=int(num("intermediate_size", cls.intermediate)),
            max_positions=int(num("max_position_embeddings", cls.max_positions)),
            layer_norm_eps=float(num("layer_norm_eps", cls.layer_norm_eps)),
        )


def _rows_in(weight: np.ndarray) -> np.ndarray:
    """PyTorch's ``[out, in]`` Linear weight as a C-contiguous ``[in, out]`` matrix.

    ``x @ w`` with this layout is measurably faster in OpenBLAS than with the transposed view
    when ``x`` has few rows (a single query), and no slower for large batches.
    """
    return np.ascontiguousarray(weight.T)


@dataclass(frozen=True)
class _Layer:
    """One transformer layer; dense weights are ``[in, out]`` views ready for ``x @ w``."""

    qkv_w: np.ndarray  # [hidden, 3*hidden], query part pre-scaled by 1/sqrt(head_dim)
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1_g: np.ndarray
    ln1_b: np.ndarray
    up_w: np.ndarray
    up_b: np.ndarray
    down_w: np.ndarray
    down_b: np.ndarray
    ln2_g: np.ndarray
    ln2_b: np.ndarray


class BertEncoder:
    """Holds prepared weights and computes mean-pooled sentence vectors for padded token ids."""

    def __init__(self, config: BertConfig, tensors: Mapping[str, np.ndarray]) -> None:
        self.config = config
        h = config.hidden
        if h % config.heads:
            raise ValueError(f"hidden size {h} is not divisible by {config.heads} heads")
        self._head_dim = h // config.heads
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in tensors else ""

        def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
            key = prefix + name
            if key not in tensors:
                raise ValueError(f"weights file lacks tensor {key!r}")
            arr = np.asarray(tensors[key], dtype=np.float32)
            if arr.ndim != len(shape) or any(w not in (-1, g) for g, w in zip(arr.shape, shape)):
                raise ValueError(f"tensor {key!r} has shape {arr.shape}, expected {shape}")
            return arr

        key = prefix + "embeddings.word_embeddings.weight"
        if key not in tensors:
            raise ValueError(f"weights file lacks tensor {key!r}")
        word = np.asarray(tensors[key], dtype=np.float32)
        if word.ndim != 2 or word.shape[1] != h:
            raise ValueError(f"word embeddings have shape {word.shape}, expected (vocab, {h})")
        self._word = word
        self.vocab_size = word.shape[0]
        positions = get("embeddings.position_embeddings.weight", (config.max_positions, h))
        type0 = get("embeddings.token_type_embeddings.weight", (-1, h))[0]
        # Every input is a single segment, so the type-0 embedding folds into the positions.
        self._pos = positions + type0
        self._emb_ln = (
            get("embeddings.LayerNorm.weight", (h,)),
            get("embeddings.LayerNorm.bias", (h,)),
        )
        scale = np.float32(1.0 / math.sqrt(self._head_dim))
        inter = config.intermediate
        self._layers: list[_Layer] = []
        for i in range(config.layers):
            p = f"encoder.layer.{i}."
            att = p + "attention."
            qkv_w = np.concatenate(
                [
                    get(att + "self.query.weight", (h, h)) * scale,
                    get(att + "self.key.weight", (h, h)),
                    get(att + "self.value.weight", (h, h)),
                ]
            )
            qkv_b = np.concatenate(
                [
                    get(att + "self.query.bias", (h,)) * scale,
                    get(att + "self.key.bias", (h,)),
                    get(att + "self.value.bias", (h,)),
                ]
            )
            self._layers.append(
                _Layer(
                    qkv_w=_rows_in(qkv_w),
                    qkv_b=qkv_b,
                    out_w=_rows_in(get(att + "output.dense.weight", (h, h))),
                    out_b=get(att + "output.dense.bias", (h,)),
                    ln1_g=get(att + "output.LayerNorm.weight", (h,)),
                    ln1_b=get(att + "output.LayerNorm.bias", (h,)),
                    up_w=_rows_in(get(p + "intermediate.dense.weight", (inter, h))),
                    up_b=get(p + "intermediate.dense.bias", (inter,)),
                    down_w=_rows_in(get(p + "output.dense.weight", (h, inter))),
                    down_b=get(p + "output.dense.bias", (h,)),
                    ln2_g=get(p + "output.LayerNorm.weight", (h,)),
                    ln2_b=get(p + "output.LayerNorm.bias", (h,)),
                )
            )

    @property
    def dim(self) -> int:
        """Size of the sentence vectors (the hidden size)."""
        return self.config.hidden

    def _layer_norm(self, x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> None:
        """LayerNorm over the last axis of the 2-d scratch array ``x``, in place."""
        x -= x.mean(axis=-1, keepdims=True)
        var = np.einsum("ij,ij->i", x, x)
        var *= np.float32(1.0 / x.shape[-1])
        var += np.float32(self.config.layer_norm_eps)
        np.sqrt(var, out=var)
        x /= var[:, None]
        x *= gamma
        x += beta

    def _attention(self, x: np.ndarray, layer: _Layer, bias: np.ndarray, ws: _Workspace) -> None:
        """Multi-head self-attention over ``x`` (``[b*n, hidden]``) into ``ws.ctx_rows``."""
        b, heads, n, hd = ws.ctx.shape
        qkv = np.matmul(x, layer.qkv_w, out=ws.qkv)
        qkv += layer.qkv_b
        qkv = qkv.reshape(b, n, 3, heads, hd)
        q = qkv[:, :, 0].transpose(0, 2, 1, 3)  # [b, heads, n, hd]; strided views, no copies
        k = qkv[:, :, 1].transpose(0, 2, 3, 1)  # [b, heads, hd, n]
        v = qkv[:, :, 2].transpose(0, 2, 1, 3)
        scores = np.matmul(q, k, out=ws.scores)  # [b, heads, n, n]
        scores += bias
        scores -= scores.max(axis=-1, keepdims=True)
        np.exp(scores, out=scores)
        total = scores.sum(axis=-1, keepdims=True)
        ctx = np.matmul(scores, v, out=ws.ctx)
        ctx /= total  # normalising the [n, hd] context is cheaper than the [n, n] scores
        np.copyto(ws.ctx_rows.reshape(b, n, heads, hd), ctx.transpose(0, 2, 1, 3))

    def encode(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled, un-normalised vectors ``[b, hidden]`` for token ids ``[b, n]``.

        ``mask`` is 1 for real tokens and 0 for padding; padding never influences the result.
        """
        b, n = ids.shape
        if n > self.config.max_positions:
            raise ValueError(
                f"sequence of {n} tokens exceeds {self.config.max_positions} positions"
            )
        cfg = self.config
        ws = _Workspace.allocate(b, n, cfg, self._head_dim)
        x, spare = ws.x, ws.spare
        np.take(self._word, ids.reshape(-1), axis=0, out=x)
        x.reshape(b, n, cfg.hidden)[...] += self._pos[:n]
        self._layer_norm(x, *self._emb_ln)
        maskf = mask.astype(np.float32)
        bias = ((1.0 - maskf) * _MASK_BIAS).reshape(b, 1, 1, n)
        for layer in self._layers:
            self._attention(x, layer, bias, ws)
            np.matmul(ws.ctx_rows, layer.out_w, out=spare)
            spare += layer.out_b
            spare += x
            self._layer_norm(spare, layer.ln1_g, layer.ln1_b)
            x, spare = spare, x
            np.matmul(x, layer.up_w, out=ws.up)
            gelu_(ws.up, layer.up_b)
            np.matmul(ws.up, layer.down_w, out=spare)
            spare += layer.down_b
            spare += x
            self._layer_norm(spare, layer.ln2_g, layer.ln2_b)
            x, spare = spare, x
        summed = np.matmul(maskf.reshape(b, 1, n), x.reshape(b, n, cfg.hidden)).reshape(b, -1)
        counts = np.maximum(maskf.sum(axis=1, keepdims=True), np.float32(1e-9))
        return summed / counts


@dataclass(frozen=True)
class _Workspace:
    """Scratch arrays for one batch, shared by all layers so big buffers are allocated once."""

    x: np.ndarray  # [b*n, hidden] hidden states
    spare: np.ndarray  # [b*n, hidden] the next hidden states
    qkv: np.ndarray  # [b*n, 3*hidden]
    scores: np.ndarray  # [b, heads, n, n]
    ctx: np.ndarray  # [b, heads, n, head_dim]
    ctx_rows: np.ndarray  # [b*n, hidden]
    up: np.ndarray  # [b*n, intermediate]

    @classmethod
    def allocate(cls, b: int, n: int, cfg: BertConfig, head_dim: int) -> _Workspace:
        rows, f32 = b * n, np.float32
        return cls(
            x=np.empty((rows, cfg.hidden), f32),
            spare=np.empty((rows, cfg.hidden), f32),
            qkv=np.empty((rows, 3 * cfg.hidden), f32),
            scores=np.empty((b, cfg.heads, n, n), f32),
            ctx=np.empty((b, cfg.heads, n, head_dim), f32),
            ctx_rows=np.empty((rows, cfg.hidden), f32),
            up=np.empty((rows, cfg.intermediate), f32),
        )
