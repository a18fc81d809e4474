"""Refuse to start the environment install when its disk cannot hold it (a clear error, not ENOSPC).

Usage: python tools/disk-space.py PATH GIB. Exits 1 with the remedy when the filesystem that holds
PATH (or its nearest existing parent) has fewer than GIB GiB free.
"""

import shutil
import sys
from pathlib import Path

path, need = Path(sys.argv[1]).absolute(), float(sys.argv[2])
while not path.exists():
    path = path.parent
free = shutil.disk_usage(path).free / 2**30
if free < need:
    sys.exit(
        f"make env: {free:.1f} GiB free on the disk holding {path}, and the environment needs about "
        f"{need:g} GiB (torch 2.14.1's CUDA build with its NVIDIA libraries is 5.5 GiB of it). Free "
        "some space, or put the environment on a larger disk: make VENV=/path/on/larger/disk/venv."
    )
