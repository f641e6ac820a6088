"""``python -m websocket_redundancy`` is the ``websocket-redundancy`` command."""
import sys

from .cli import main

sys.exit(main())
