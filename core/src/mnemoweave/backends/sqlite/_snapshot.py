"""The vector snapshot file: the in-memory index saved beside the database, bound to one state.

Layout (little-endian)::

    b"MWVSNAP1"             magic and format version
    uint32 n                length of the stamp
    n bytes                 the stamp, JSON: store_id, token, rid, seq, dim, model, ntotal, block
    uint32 x blocks         crc32 of each block of ``block`` vectors
    uint32                  crc32 of everything from ``n`` up to here
    float32 x ntotal x dim  the vectors, row ``rid`` at position ``rid``

The stamp binds the file to one store (``store_id``) and one saved state (``token``, which the
database records in its ``meta`` table in the same transaction that makes the state current).
A loader accepts a file only when its stamp equals that record and every checksum holds;
anything else (another store's file, an older save of this store, a flipped bit, a save or an
erasure that a crash interrupted) is rejected, scrubbed, and the index is rebuilt from SQLite.
Per-block checksums let erasure zero a few rows in place and re-checksum only their blocks.
"""

from __future__ import annotations

import errno
import json
import os
import struct
import uuid
import zlib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ._vectors import VectorIndex

MAGIC = b"MWVSNAP1"
# Vectors per checksum block: about 1 MiB of payload, whatever the dimension.
_BLOCK_BYTES = 1 << 20
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Stamp:
    """What a snapshot file holds: whose store, which save, and the index state it reflects."""

    store_id: str
    token: str
    rid: int
    seq: int
    dim: int
    model: str
    ntotal: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes | None) -> Stamp | None:
        """Parse a stamp; ``None`` for anything else (e.g. the record of an older format)."""
        if text is None:
            return None
        try:
            data = json.loads(text)
            stamp = cls(
                store_id=str(data["store_id"]),
                token=str(data["token"]),
                rid=int(data["rid"]),
                seq=int(data["seq"]),
                dim=int(data["dim"]),
                model=str(data["model"]),
                ntotal=int(data["ntotal"]),
            )
        except (ValueError, KeyError, TypeError):
            return None
        return stamp

    def renewed(self) -> Stamp:
        """The same state under a fresh token (a file changed in place gets a new identity)."""
        return replace(self, token=new_token())


def new_token() -> str:
    return uuid.uuid4().hex


def _block_rows(dim: int) -> int:
    return max(1, _BLOCK_BYTES // (dim * 4))


@dataclass(slots=True)
class _Header:
    stamp: Stamp
    crcs: list[int]
    payload_at: int


def _encode_header(stamp: Stamp, crcs: list[int]) -> bytes:
    info = asdict(stamp)
    info["block"] = _block_rows(stamp.dim)
    text = json.dumps(info, sort_keys=True, separators=(",", ":")).encode()
    body = struct.pack("<I", len(text)) + text + struct.pack(f"<{len(crcs)}I", *crcs)
    return MAGIC + body + struct.pack("<I", zlib.crc32(body))


def _read_header(fh: BinaryIO, size: int) -> _Header | None:
    """The file's header if it is intact and describes a file of exactly ``size`` bytes."""
    head = fh.read(12)
    if len(head) < 12 or head[:8] != MAGIC:
        return None
    (length,) = struct.unpack("<I", head[8:12])
    if length > 1 << 16:
        return None
    text = fh.read(length)
    stamp = Stamp.from_json(text)
    if stamp is None or stamp.dim <= 0 or stamp.ntotal < 0:
        return None
    if json.loads(text).get("block") != _block_rows(stamp.dim):
        return None
    blocks = -(-stamp.ntotal // _block_rows(stamp.dim))
    payload_at = 12 + length + 4 * blocks + 4
    if size != payload_at + stamp.ntotal * stamp.dim * 4:
        return None  # checked before reading, so a damaged count cannot ask for huge reads
    packed = fh.read(4 * blocks + 4)
    if len(packed) != 4 * blocks + 4:
        return None
    crcs = list(struct.unpack(f"<{blocks}I", packed[:-4]))
    (crc,) = struct.unpack("<I", packed[-4:])
    if zlib.crc32(head[8:12] + text + packed[:-4]) != crc:
        return None
    return _Header(stamp, crcs, payload_at)


def read_stamp(path: Path) -> Stamp | None:
    """The stamp of the file at ``path`` (``None`` if missing or its header is damaged)."""
    try:
        with open(path, "rb") as fh:
            header = _read_header(fh, os.fstat(fh.fileno()).st_size)
    except FileNotFoundError:
        return None
    return None if header is None else header.stamp


def save(path: Path, index: VectorIndex, stamp: Stamp) -> None:
    """Write ``index`` under ``stamp`` atomically: a temp file, fsync, rename, fsync the folder.

    The caller records ``stamp`` in the database only after this returns, so a crash at any
    point leaves either the old binding or a file whose token the database does not know.
    """
    tmp = temp_path(path)
    data = index.buffer()
    rows = _block_rows(stamp.dim)
    step = rows * stamp.dim * 4
    blocks = -(-stamp.ntotal // rows)
    placeholder = _encode_header(stamp, [0] * blocks)
    crcs = []
    try:
        with open(tmp, "wb") as fh:
            fh.write(placeholder)
            for start in range(0, len(data), step):
                block = data[start : start + step]
                crcs.append(zlib.crc32(block))
                fh.write(block)
            fh.seek(0)
            fh.write(_encode_header(stamp, crcs))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def load(path: Path, expected: Stamp) -> VectorIndex | None:
    """The index saved at ``path``, if its stamp is ``expected`` and every checksum holds."""
    try:
        with open(path, "rb") as fh:
            header = _read_header(fh, os.fstat(fh.fileno()).st_size)
            if header is None or header.stamp != expected:
                return None
            index = VectorIndex.allocate(expected.dim, expected.ntotal)
            data = index.buffer()
            step = _block_rows(expected.dim) * expected.dim * 4
            for number, start in enumerate(range(0, len(data), step)):
                block = data[start : start + step]
                if fh.readinto(block) != len(block) or zlib.crc32(block) != header.crcs[number]:
                    return None
    except FileNotFoundError:
        return None
    return index


def zero_rows(path: Path, expected: Stamp, rows: np.ndarray, renewed: Stamp) -> bool:
    """Overwrite the vectors of ``rows`` with zeros in place and re-stamp the file ``renewed``.

    Returns False, changing nothing, when the file is not the one ``expected`` describes (the
    caller then scrubs it). The blocks and the header are rewritten and fsynced before this
    returns; the database learns ``renewed`` only when the erasing transaction commits, so a
    crash before that leaves a file whose token the database does not know: rejected.
    """
    try:
        fh = open(path, "r+b")  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:
        return True
    with fh:
        header = _read_header(fh, os.fstat(fh.fileno()).st_size)
        if header is None or header.stamp != expected:
            return False
        dim = expected.dim
        per_block = _block_rows(dim)
        rows = np.unique(np.asarray(rows, dtype=np.int64))
        rows = rows[(rows >= 0) & (rows < expected.ntotal)]
        crcs = list(header.crcs)
        for number in np.unique(rows // per_block).tolist():
            first = number * per_block
            count = min(per_block, expected.ntotal - first)
            fh.seek(header.payload_at + first * dim * 4)
            block = np.frombuffer(bytearray(fh.read(count * dim * 4)), dtype=np.float32)
            block = block.reshape(count, dim)
            inside = rows[(rows >= first) & (rows < first + count)] - first
            block[inside] = 0.0
            fh.seek(header.payload_at + first * dim * 4)
            fh.write(block.tobytes())
            crcs[number] = zlib.crc32(block.tobytes())
        encoded = _encode_header(renewed, crcs)
        if len(encoded) != header.payload_at:
            return False
        fh.seek(0)
        fh.write(encoded)
        fh.flush()
        os.fsync(fh.fileno())
    return True


def scrub(path: Path) -> None:
    """Overwrite a file with zeros, fsync it, and remove it (nothing if it does not exist)."""
    try:
        fh = open(path, "r+b")  # noqa: SIM115 (closed by the with below)
    except FileNotFoundError:
        return
    with fh:
        size = os.fstat(fh.fileno()).st_size
        zeros = bytes(min(size, _CHUNK))
        done = 0
        while done < size:
            done += fh.write(zeros[: size - done])
        fh.flush()
        os.fsync(fh.fileno())
    path.unlink(missing_ok=True)


def temp_path(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows has no directory handles)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot sync a directory; the rename stands
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)
