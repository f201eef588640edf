"""What an object holds in arrays: the bytes of every numpy array and torch tensor reachable from it.

The worker's session cache is bounded by bytes (CLICKLABEL_WORKER_SESSION_CACHE_BYTES); a session's size is
measured, not estimated from the image size: f-BRS sessions keep network features at the network's resolution
in every undo snapshot, which no per-pixel formula of the image predicts. Networks (`torch.nn.Module`) are
shared by every session of a worker and never counted.
"""
from __future__ import annotations

import sys
from typing import Any, Iterable

import numpy as np

MAX_DEPTH = 12


def held_bytes(*roots: Any, exclude: Iterable[Any] = ()) -> int:
    """Bytes of the distinct array buffers reachable from `roots` through attributes, dataclass fields, dicts,
    lists, tuples and sets (a buffer shared by several arrays or views counts once); buffers also reachable from
    `exclude` (data shared with something counted elsewhere, e.g. a prepared image's template) are not counted."""
    shared = _buffers(tuple(exclude)) if exclude else {}
    return sum(size for address, size in _buffers(roots).items() if address not in shared)


def _buffers(roots: tuple[Any, ...]) -> dict[int, int]:
    """Address -> size of every distinct array buffer reachable from `roots` (see `held_bytes`)."""
    torch = sys.modules.get("torch")   # never imported here: a session without torch holds no tensors
    tensor = torch.Tensor if torch is not None else ()
    module = torch.nn.Module if torch is not None else ()
    seen_objects: set[int] = set()
    buffers: dict[int, int] = {}
    stack = [(root, 0) for root in roots]
    while stack:
        obj, depth = stack.pop()
        if obj is None or isinstance(obj, (str, bytes, int, float, bool, type)) or id(obj) in seen_objects:
            continue
        seen_objects.add(id(obj))
        if isinstance(obj, np.ndarray):
            base = obj
            while isinstance(base.base, np.ndarray):
                base = base.base
            buffers[base.__array_interface__["data"][0]] = base.nbytes
            continue
        if tensor and isinstance(obj, tensor):
            storage = obj.untyped_storage()
            buffers[storage.data_ptr()] = storage.nbytes()
            continue
        if (module and isinstance(obj, module)) or depth >= MAX_DEPTH:
            continue
        if isinstance(obj, dict):
            children = list(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            children = list(obj)
        else:
            children = list(getattr(obj, "__dict__", {}).values())
            for name in getattr(type(obj), "__slots__", ()):
                children.append(getattr(obj, name, None))
        stack.extend((child, depth + 1) for child in children)
    return buffers


M_MMAP_THRESHOLD = -3            # glibc's mallopt parameter number
DEFAULT_MMAP_THRESHOLD = 128 * 1024


def fix_mmap_threshold(nbytes: int = DEFAULT_MMAP_THRESHOLD) -> bool:
    """Serve every allocation of at least `nbytes` with its own mmap, given back to the system when freed (glibc;
    False where there is no glibc). Call it before the worker forks its pool child: a forked child keeps it.

    glibc raises this threshold by itself after the first large block is freed (up to 32 MiB), after which a
    session's maps and network features come from the heap, whose freed holes the process keeps: a click worker
    evicting f-BRS sessions at its byte budget grew by about 5 MB per object (3.75 GB resident for a 2 GiB
    budget after 200 objects) instead of staying flat."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, int(nbytes)))
