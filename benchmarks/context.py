"""What every scenario gets: its parameters, where to write, how to report progress."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Context:
    mode: str
    params: dict[str, Any]
    out: Path
    target: str | None = None
    source_cmd: str | None = None
    started: float = field(default_factory=time.monotonic)

    def progress(self, label: str, step: int | None = None, total: int | None = None,
                 text: str = '') -> None:
        """One line on stderr, e.g. ``[failover kill 7/30] gap 41 ms, lost 0, dup 0``."""
        where = f'{label} {step}/{total}' if step is not None and total else label
        elapsed = time.monotonic() - self.started
        print(f'[{where}] {text}  (+{elapsed:.0f} s)', file=sys.stderr, flush=True)


def figure(name: str, value: float | int | None, unit: str, target: str = '',
           ok: bool | None = None) -> dict[str, Any]:
    """One reported figure; ``ok`` is None when there is no target to meet."""
    return {'name': name, 'value': value, 'unit': unit, 'target': target, 'ok': ok}
