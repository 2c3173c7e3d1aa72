"""A sweep on disk: `manifest.json` (configuration + a SHA-256 per finished chunk), one
`chunk-NNNNN.npz` per chunk, then `results.npz` and `summary.json`.

Every file is written to a temporary name, flushed to disk and renamed; a chunk counts as
finished only once its checksum is in the manifest (itself replaced atomically), so a
process killed at any moment leaves a directory that resumes to the same results. On resume
a chunk whose file is missing, truncated or corrupted (checksum mismatch) is reported in one
line on stderr and recomputed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import sys

import equinox as eqx
import jax
import numpy as np

from .._checks import InputError

MANIFEST = "manifest.json"
FORMAT = 2
# test hook: "POINT:CHUNK" kills this process with SIGKILL at that point (see tests)
FAULT_ENV = "GDGAN_SWEEP_FAULT"


def fault_point(point: str, chunk: int = -1):
    """Kill the process here if the environment asks for it (fault-injection tests)."""
    if os.environ.get(FAULT_ENV) == f"{point}:{chunk}":
        os.kill(os.getpid(), signal.SIGKILL)


def tree_hash(tree):
    """A short content hash of a pytree (structure, dtypes, shapes, values)."""
    if tree is None:
        return None
    h = hashlib.sha256()
    for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
        h.update(jax.tree_util.keystr(path).encode())
        if eqx.is_array_like(leaf):
            a = np.ascontiguousarray(np.asarray(leaf))
            h.update(str((a.dtype, a.shape)).encode())
            h.update(a.tobytes())
        else:
            h.update(repr(leaf).encode())
    return h.hexdigest()[:16]


def _write_bytes(path, data: bytes, chunk: int = -1):
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as fh:
        half = len(data) // 2
        fh.write(data[:half])
        fh.flush()
        fault_point("mid-write", chunk)
        fh.write(data[half:])
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def npz_bytes(arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def atomic_savez(path, **arrays) -> str:
    """Write `arrays` to `path` (.npz) atomically; returns the file's SHA-256."""
    data = npz_bytes(arrays)
    _write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def atomic_json(path, obj):
    _write_bytes(path, json.dumps(obj, indent=2).encode())


def check_writable(out):
    """Create `out` if needed and check that files can be written there (before any
    compute)."""
    try:
        os.makedirs(out, exist_ok=True)
        probe = os.path.join(out, f".write-test-{os.getpid()}")
        with open(probe, "wb") as fh:
            fh.write(b"")
        os.remove(probe)
    except OSError as e:
        raise InputError(
            f"out: expected a writable directory, got {out!r} ({e.strerror or e})"
        ) from None


class Store:
    """The directory of one sweep (process 0 writes; every process may read)."""

    def __init__(self, out, config, n_chunks, writer):
        self.out, self.config, self.n_chunks, self.writer = out, config, n_chunks, writer
        self.checksums: dict = {}

    def path(self, name):
        return os.path.join(self.out, name)

    def chunk_name(self, c):
        return f"chunk-{c:05d}.npz"

    def _manifest(self):
        return {
            "gdgan_sweep": FORMAT,
            "n_chunks": self.n_chunks,
            "config": self.config,
            "checksums": self.checksums,
        }

    def prepare(self, resume) -> np.ndarray:
        """Create or check the directory; return which chunks are finished and intact."""
        path = self.path(MANIFEST)
        done = np.zeros(self.n_chunks, bool)
        if not os.path.exists(path):
            if self.writer:
                atomic_json(path, self._manifest())
            return done
        if not resume:
            raise InputError(
                f"out: {self.out!r} already holds a sweep; pass resume=True "
                "(--resume) to continue it, or choose another directory"
            )
        try:
            with open(path) as fh:
                manifest = json.load(fh)
        except (OSError, ValueError) as e:
            raise InputError(f"resume: {path!r} is not a readable sweep manifest ({e})") from None
        old = manifest.get("config", {})
        diff = sorted(k for k in set(old) | set(self.config) if old.get(k) != self.config.get(k))
        if diff:
            raise InputError(
                f"resume: {self.out!r} holds a sweep with a different configuration "
                f"(differs in: {', '.join(diff)}); use another directory"
            )
        recorded = manifest.get("checksums", {})
        bad = []
        for c in range(self.n_chunks):
            name = self.chunk_name(c)
            want = recorded.get(name)
            if want is None:
                continue  # never finished: computed as usual
            problem = self.verify(name, want)
            if problem is None:
                done[c] = True
                self.checksums[name] = want
            else:
                bad.append(f"{name} ({problem})")
        if "grid.npz" in recorded and self.verify("grid.npz", recorded["grid.npz"]) is None:
            self.checksums["grid.npz"] = recorded["grid.npz"]
        if bad:
            print(
                f"gdgan sweep: resume: recomputing {len(bad)} damaged chunk(s) in "
                f"{self.out}: {', '.join(bad)}",
                file=sys.stderr,
                flush=True,
            )
        if self.writer and bad:
            atomic_json(path, self._manifest())
        return done

    def verify(self, name, want):
        """`None` if the file is intact, else what is wrong with it."""
        try:
            with open(self.path(name), "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return "missing"
        except OSError as e:
            return f"unreadable: {e.strerror}"
        if hashlib.sha256(data).hexdigest() != want:
            return "checksum mismatch: truncated or corrupted"
        return None

    def read(self, name) -> dict:
        with open(self.path(name), "rb") as fh:
            data = fh.read()
        with np.load(io.BytesIO(data)) as z:
            return {k: z[k] for k in z.files}

    def has(self, name) -> bool:
        return name in self.checksums

    def write(self, name, arrays, chunk=-1):
        """Write one file, then record its checksum in the manifest (process 0 only)."""
        if not self.writer:
            return
        fault_point("before-write", chunk)
        data = npz_bytes(arrays)
        _write_bytes(self.path(name), data, chunk)
        fault_point("after-rename", chunk)
        self.checksums[name] = hashlib.sha256(data).hexdigest()
        atomic_json(self.path(MANIFEST), self._manifest())
        fault_point("after-manifest", chunk)
