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
``__main__`` guard would run again). Its start-up (imports, ~0.5 s wall, ~0.4 CPU-s) is why
only files from ``WORKER_FROM`` on go there, and why one worker (:class:`Worker`, owned by
the reader) reads every such file of a command, one after the other: it takes the next file
as a JSON line on its stdin, and ends at the end of its stdin. The parent reads the worker's
output in a thread of its own (a few batches ahead): the worker then never waits while the
parent writes to the case.

Frames: one kind byte, an 8-byte length, the payload. ``B`` a batch (8-byte position, then an
Arrow IPC stream), ``W`` a warning (JSON ``[location, message]``), ``X`` a refusal (JSON
``[message, location]``), ``E`` an error, ``D`` the end of the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import subprocess
import sys
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pyarrow as pa

from seawall.collect.base import Batch, Mediator, SourceFile
from seawall.errors import BadInputError

if TYPE_CHECKING:
    from seawall.collect.events.evtx import EvtxReader

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


def work(requests: IO[bytes], out: IO[bytes]) -> None:
    """The worker's side: for each request line (JSON ``[path, display, sha256, size,
    batch_records]``) read that file and send its batches and warnings on ``out``, then ``D``
    (or ``X``, ``E``)."""
    from seawall.collect.events.evtx import EvtxReader

    # one reader for every file; the parser, the rows (DuckDB, one thread) and the sending
    # each in a thread of their own: the GIL-free parts (DuckDB, the pipe) overlap the others
    reader = EvtxReader(threads=1, background_from=0, worker_from=1 << 62, sql_threads=1)
    for line in requests:
        path, display, sha256, size, reader.batch_records = json.loads(line)
        _read_one(reader, SourceFile(Path(path), display, sha256, size), out)


def _read_one(reader: EvtxReader, source: SourceFile, out: IO[bytes]) -> None:
    try:
        for batch in reader.read(source, _Forward(out)):
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, batch.data.schema) as writer:
                writer.write(batch.data)
            position = -1 if batch.position is None else batch.position
            stream = sink.getvalue()  # written as it is: a batch is tens of MB, no copy
            out.write(_FRAME.pack(b"B", _POSITION.size + stream.size))
            out.write(_POSITION.pack(position))
            out.write(memoryview(stream))
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


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End a worker: the end of its stdin ends it; one still writing gets a broken pipe."""
    for stream in (process.stdin, process.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):  # a broken pipe: the worker is gone already
                stream.close()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Worker:
    """One worker process, started on first use, that reads file after file for its owner (an
    EVTX reader). A read that does not end cleanly (the consumer stopped early, the worker
    failed) ends the process: the next read starts a fresh one. :meth:`close` (also called
    when the owner is collected, or at exit) ends it."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._queued: list[list[Any]] = []  # requests sent ahead (``ahead``), not read yet
        self._lock = threading.Lock()  # ``ahead`` comes from the ingest, ``read`` in a thread

    def _start(self) -> subprocess.Popen[bytes]:
        package_root = str(Path(__file__).resolve().parents[3])  # where this seawall is from
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}
        process = subprocess.Popen(
            [sys.executable, "-m", "seawall.collect.events.worker"],
            stdout=subprocess.PIPE,
            stdin=subprocess.PIPE,
            env=env,
        )
        self._process = process
        self._finalizer = weakref.finalize(self, _stop, process)
        return process

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # runs _stop once
        self._process = self._finalizer = None
        self._queued.clear()

    @staticmethod
    def _request(source: SourceFile, batch_records: int) -> list[Any]:
        return [str(source.path), source.display, source.sha256, source.size, batch_records]

    @staticmethod
    def _send(process: subprocess.Popen[bytes], request: list[Any]) -> None:
        assert process.stdin is not None
        process.stdin.write(json.dumps(request).encode() + b"\n")
        process.stdin.flush()

    def ahead(self, source: SourceFile, batch_records: int) -> None:
        """Queue ``source`` (the ingest's next file) to the running worker: it starts on it as
        soon as it has sent the file it reads, so that its first batches are ready when the
        ingest gets to it. A file then not read (collected already) costs a worker restart."""
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None or self._queued:
                return
            request = self._request(source, batch_records)
            self._send(process, request)
            self._queued.append(request)

    def read(self, source: SourceFile, mediator: Mediator, batch_records: int) -> Iterator[Batch]:
        """The EVTX reader's batches of ``source``, read in the worker process."""
        request = self._request(source, batch_records)
        with self._lock:
            if self._queued and self._queued[0] != request:  # it works on another file
                self._close()
            process = self._process
            if process is None or process.poll() is not None:
                self._close()
                process = self._start()
            if self._queued:
                self._queued.pop(0)  # sent ahead: its batches may be waiting already
            else:
                self._send(process, request)
        assert process.stdout is not None
        clean = False
        try:
            yield from _frames(process, process.stdout, source, mediator)
            clean = True
        except BadInputError:  # the worker refused the file and goes on to the next
            clean = True
            raise
        finally:
            if not clean:
                self.close()


def _frames(
    process: subprocess.Popen[bytes], stream: IO[bytes], source: SourceFile, mediator: Mediator
) -> Iterator[Batch]:
    while True:
        try:
            kind, length = _FRAME.unpack(_read_exactly(stream, _FRAME.size))
            payload = _read_exactly(stream, length)
        except (EOFError, OSError):
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


if __name__ == "__main__":
    work(sys.stdin.buffer, sys.stdout.buffer)
