"""The heartbeat message a tier sends its own clients (std_msgs/msg/String, JSON)."""
from __future__ import annotations

import json
from typing import Any

HEARTBEAT_TYPE = 'std_msgs/msg/String'


def heartbeat_message(tier: str, session: str, seq: int, sent: float) -> dict[str, Any]:
    return {'data': json.dumps({'tier': tier, 'session': session, 'seq': seq,
                                'sent': round(sent, 6)}, separators=(',', ':'))}
