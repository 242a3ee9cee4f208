"""stdin read on the event loop.

pygls reads stdin in its thread pool: every header line and every body is a separate
`run_in_executor` call, three thread hand-offs per message (each a wake-up of a thread and a
GIL hand-over, a millisecond or more on a busy machine, and a burst of typing queues them up).
When stdin is a pipe, as editors start servers, it is read here through the event loop's own
pipe transport, with no thread at all. Anything else (a file, a terminal, a socket that
stdout shares and that a non-blocking stdin would make non-blocking too, Windows) keeps
pygls' reader.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
from typing import TYPE_CHECKING, BinaryIO

from pygls.io_ import StdoutWriter, run_async

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

#: Longest header line accepted; a longer one is dropped as garbage (bodies are not limited).
LINE_LIMIT = 1 << 16


def loop_readable(stdin: BinaryIO, stdout: BinaryIO) -> bool:
    """Whether stdin can be read through the event loop: a pipe that is not stdout."""
    if sys.platform == "win32":
        return False
    try:
        st_in, st_out = os.fstat(stdin.fileno()), os.fstat(stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    same = (st_in.st_dev, st_in.st_ino) == (st_out.st_dev, st_out.st_ino)
    return stat.S_ISFIFO(st_in.st_mode) and not same


class PipeReader:
    """pygls' AsyncReader over an asyncio StreamReader: EOF and over-long lines never raise."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader

    async def readline(self) -> bytes:
        """A header line; b"" at EOF. Yields to the loop first, so that a burst of messages
        already in the buffer does not hold up finished analyses."""
        await asyncio.sleep(0)
        try:
            return await self.reader.readline()
        except ValueError:  # longer than LINE_LIMIT: the buffer was dropped, go on
            log.warning("dropped an over-long header line")
            return b"\n"

    async def readexactly(self, n: int) -> bytes:
        """A body of n bytes; b"" at EOF."""
        try:
            return await self.reader.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""


async def serve(server: LanguageServer, stdin: BinaryIO) -> None:
    """Read messages from a stdin pipe until EOF or exit."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
    assert server._stop_event is not None
    await run_async(
        stop_event=server._stop_event,
        reader=PipeReader(reader),
        protocol=server.protocol,
        logger=log,
        error_handler=server.report_server_error,
    )


def start(server: LanguageServer, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """pygls' `_start_io_async` with the pipe reader."""
    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout))
    try:
        asyncio.run(serve(server, stdin))
    except BrokenPipeError:
        log.error("Connection to the client is lost! Shutting down the server.")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]
