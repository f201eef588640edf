"""File responses that stream under ASGI too.

Django's FileResponse reads a file chunk by chunk under WSGI, but under ASGI (daphne, how ClickLabel is
served) it first reads the whole file into a list (`StreamingHttpResponse.__aiter__` on a synchronous
iterator): an image or an export as large as its file in the web process's memory. `ChunkedFileResponse`
keeps the synchronous behaviour and gives ASGI an asynchronous iterator that reads one chunk at a time in
a worker thread.
"""
from __future__ import annotations

from typing import AsyncIterator

from asgiref.sync import sync_to_async
from django.http import FileResponse

CHUNK = 64 * 1024


class ChunkedFileResponse(FileResponse):
    """A FileResponse that an ASGI server sends in CHUNK-sized pieces, never holding the whole file."""

    block_size = CHUNK

    async def __aiter__(self) -> AsyncIterator[bytes]:
        filelike = self.file_to_stream
        if filelike is None:  # not a file: the parent's handling
            async for part in super().__aiter__():
                yield part
            return
        read = sync_to_async(filelike.read, thread_sensitive=False)
        while chunk := await read(self.block_size):
            yield chunk
