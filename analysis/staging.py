"""The temporary folder a run is written into before it is moved into place: readable by
others as the user's umask allows (mkdtemp alone makes it 0700), and named with the run's
process id so that the next run into the same place removes the leftovers of a run that was
killed (SIGKILL leaves them) and never those of one still running."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale(out: Path) -> list[Path]:
    """Remove `.OUT.tmp-PID-*` and `.OUT.old-PID` beside `out` whose process is gone;
    returns what was removed."""
    pattern = re.compile(rf"\.{re.escape(out.name)}\.(?:tmp|old)-(\d+)(?:-.*)?")
    removed = []
    for path in out.parent.glob(f".{out.name}.*"):
        match = pattern.fullmatch(path.name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def make_staging(out: Path) -> Path:
    """A fresh temporary folder beside `out` with the permissions of a folder made by
    mkdir under the user's umask."""
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    tmp.chmod(0o777 & ~_umask())
    return tmp
