"""A large EVTX file read in a worker process, so that reading and the case's writes each have a
core.

In one process they take turns: the parser, the row building and the case's insert are each
CPU work of their own (per record, a few µs for the Rust parse, about twice that for the rows,
as much again for DuckDB's write), and the parts that hold the GIL cannot overlap. A worker
process reads the file (parse and rows, one thread each) and sends each batch as Arrow IPC on
its stdout; the parent only writes. A pipe holds little, so at most a batch waits on either
side: memory stays flat. Warnings travel between the batches, in order.

The worker is a fresh interpreter (``python -m seawall.collect.events.worker``), neither forked
(the parent holds DuckDB connections with threads of their own) nor spawned by
``multiprocessing`` (which re-imports the caller's main module: a script without a
``__main__`` guard would run again). Its start-up (imports, ~0.5 s) is why only files from
``WORKER_FROM`` on go there.

Frames: one kind byte, an 8-byte length, the payload. ``B`` a batch (8-byte position, then an
Arrow IPC stream), ``W`` a warning (JSON ``[location, message]``), ``X`` a refusal (JSON
``[message, location]``), ``E`` an error, ``D`` the end.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pyarrow as pa

from seawall.collect.base import Batch, Mediator, SourceFile
from seawall.errors import BadInputError

# Files from this size on are read in a worker process (see the module docstring).
WORKER_FROM = 64 << 20

_FRAME = struct.Struct("<cQ")
_POSITION = struct.Struct("<q")


def _send(out: IO[bytes], kind: bytes, payload: bytes) -> None:
    out.write(_FRAME.pack(kind, len(payload)))
    out.write(payload)


class _Forward(Mediator):
    """The worker's mediator: every warning goes to the parent, in order with the batches."""

    def __init__(self, out: IO[bytes]) -> None:
        super().__init__(limit=0)
        self.out = out

    def warn(self, location: str, message: str) -> None:
        super().warn(location, message)
        _send(self.out, b"W", json.dumps([location, message]).encode())


def work(path: str, display: str, sha256: str, size: int, out: IO[bytes]) -> None:
    """The worker's side: read ``path`` and send its batches and warnings on ``out``."""
    from seawall.collect.events.evtx import EvtxReader

    source = SourceFile(Path(path), display, sha256, size)
    # one thread each: the parent's writes take the other core
    reader = EvtxReader(threads=1, background_from=1 << 62, worker_from=1 << 62, sql_threads=1)
    try:
        for batch in reader.read(source, _Forward(out)):
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, batch.data.schema) as writer:
                writer.write(batch.data)
            position = -1 if batch.position is None else batch.position
            _send(out, b"B", _POSITION.pack(position) + sink.getvalue().to_pybytes())
        _send(out, b"D", b"")
    except BadInputError as error:
        _send(out, b"X", json.dumps([error.message, error.location]).encode())
    except Exception as error:  # the parent raises it: a reader bug fails the run
        _send(out, b"E", f"{type(error).__name__}: {error}".encode())
    out.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise EOFError
    return data


def read_in_worker(source: SourceFile, mediator: Mediator) -> Iterator[Batch]:
    """The EVTX reader's batches of ``source``, read in a worker process."""
    package_root = str(Path(__file__).resolve().parents[3])  # where this seawall is imported from
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}
    arguments = [str(source.path), source.display, source.sha256, str(source.size)]
    process = subprocess.Popen(
        [sys.executable, "-m", "seawall.collect.events.worker", *arguments],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    assert process.stdout is not None
    stream = process.stdout
    try:
        while True:
            try:
                kind, length = _FRAME.unpack(_read_exactly(stream, _FRAME.size))
                payload = _read_exactly(stream, length)
            except EOFError:
                code = process.wait()
                raise RuntimeError(
                    f"the EVTX worker reading {source.display} ended early (exit code {code})"
                ) from None
            if kind == b"B":
                (position,) = _POSITION.unpack_from(payload)
                table = pa.ipc.open_stream(pa.py_buffer(payload)[_POSITION.size :]).read_all()
                yield Batch("events", table, None if position < 0 else position)
            elif kind == b"W":
                location, message = json.loads(payload)
                mediator.warn(location, message)
            elif kind == b"X":
                message, location = json.loads(payload)
                raise BadInputError(message, location)
            elif kind == b"E":
                raise RuntimeError(f"reading {source.display}: {payload.decode()}")
            else:
                return
    finally:
        stream.close()  # a worker still writing gets a broken pipe and ends
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


if __name__ == "__main__":
    work(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.stdout.buffer)
