"""The embedded graph's type store: rosbags' ROS 2 Humble messages plus services.

rosbags ships message types only, so the service types the project uses (std_srvs and
lifecycle_msgs) are registered here from their .srv text as ``<srv>_Request`` /
``<srv>_Response`` message types, the names rosbag2 and rosbags use for them.
Actions are registered from their .action text as the message types ROS 2 derives
from it (``<action>_Goal``, ``_Result``, ``_Feedback``, ``_SendGoal_Request`` ...,
``_FeedbackMessage``; see ``graph.actions``): the ones in ``ACTIONS``, the real
definitions of their packages, so a client written for them works against ROS 2 too.
Types outside the store arrive as message definitions in the rosbag2
``concatenated`` form (``MSG: pkg/Name`` sections separated by ``=`` lines) and are
registered with ``register_msgdef``.
"""
from __future__ import annotations

import re
import threading
from typing import Any

from rosbags.interfaces import Nodetype
from rosbags.typesys import Stores, TypesysError, get_types_from_msg, get_typestore

from ..port import GraphError

SERVICES = {
    "std_srvs/srv/Empty": ("", ""),
    "std_srvs/srv/Trigger": ("", "bool success\nstring message"),
    "std_srvs/srv/SetBool": ("bool data", "bool success\nstring message"),
    "lifecycle_msgs/srv/ChangeState": ("lifecycle_msgs/Transition transition", "bool success"),
    "lifecycle_msgs/srv/GetState": ("", "lifecycle_msgs/State current_state"),
    "lifecycle_msgs/srv/GetAvailableStates": ("", "lifecycle_msgs/State[] available_states"),
    "lifecycle_msgs/srv/GetAvailableTransitions": (
        "",
        "lifecycle_msgs/TransitionDescription[] available_transitions",
    ),
    "action_msgs/srv/CancelGoal": (
        "action_msgs/GoalInfo goal_info",
        "int8 ERROR_NONE=0\nint8 ERROR_REJECTED=1\nint8 ERROR_UNKNOWN_GOAL_ID=2\n"
        "int8 ERROR_GOAL_TERMINATED=3\nint8 return_code\naction_msgs/GoalInfo[] goals_canceling",
    ),
}
# Goal --- Result --- Feedback, as in each package's action/<Name>.action.
ACTIONS = {
    # ros-navigation/navigation2 branch jazzy, nav2_msgs 1.3.13 (comments dropped)
    "nav2_msgs/action/NavigateToPose": (
        "geometry_msgs/PoseStamped pose\nstring behavior_tree",
        "uint16 NONE=0\nuint16 error_code\nstring error_msg",
        "geometry_msgs/PoseStamped current_pose\nbuiltin_interfaces/Duration navigation_time\n"
        "builtin_interfaces/Duration estimated_time_remaining\nint16 number_of_recoveries\n"
        "float32 distance_remaining",
    ),
    # ros2/example_interfaces 0.13.0
    "example_interfaces/action/Fibonacci": ("int32 order", "int32[] sequence", "int32[] sequence"),
}
TYPE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*/(msg|srv|action)/[A-Za-z][A-Za-z0-9_]*$")
_PLACEHOLDER = ("structure_needs_at_least_one_member", (Nodetype.BASE, ("uint8", 0)))
_REGISTER_LOCK = threading.Lock()  # rosbags' register() execs into one shared module


def check_type_name(type_name: str) -> None:
    """Raise ``GraphError`` unless ``type_name`` looks like 'pkg/msg/Name'."""
    if not isinstance(type_name, str) or not TYPE_NAME.match(type_name):
        raise GraphError(
            f"type name {type_name!r} is not of the form 'package/msg/Name' (or /srv/, /action/)"
        )


def make_typestore() -> Any:
    """A fresh store with the Humble messages and the services in ``SERVICES``."""
    typestore = get_typestore(Stores.ROS2_HUMBLE)
    types: dict[str, Any] = {}
    for srv, (request, response) in SERVICES.items():
        types.update(_parse(request, f"{srv}_Request"))
        types.update(_parse(response, f"{srv}_Response"))
    for action, parts in ACTIONS.items():
        types.update(action_msgdefs(action, *parts))
    with _REGISTER_LOCK:
        typestore.register(types)
    return typestore


def _parse(text: str, type_name: str) -> dict[str, Any]:
    """Parse .msg text; keep /srv/ and /action/ names as given (rosbags would add '/msg/')."""
    parsed = get_types_from_msg(text, type_name)
    out = {}
    for name, (constants, fields) in parsed.items():
        name = name.replace("/srv/msg/", "/srv/").replace("/action/msg/", "/action/")
        out[name] = (constants, fields or [_PLACEHOLDER])
    return out


def action_msgdefs(action: str, goal: str, result: str, feedback: str) -> dict[str, Any]:
    """The message types ROS 2 derives from action ``pkg/action/Name`` (rosidl's
    ``action_msgs``-based layout), parsed for ``typestore.register``."""
    uuid = "unique_identifier_msgs/UUID goal_id"
    texts = {
        "_Goal": goal, "_Result": result, "_Feedback": feedback,
        "_SendGoal_Request": f"{uuid}\n{action}_Goal goal",
        "_SendGoal_Response": "bool accepted\nbuiltin_interfaces/Time stamp",
        "_GetResult_Request": uuid,
        "_GetResult_Response": f"int8 status\n{action}_Result result",
        "_FeedbackMessage": f"{uuid}\n{action}_Feedback feedback",
    }
    types: dict[str, Any] = {}
    for suffix, text in texts.items():
        types.update(_parse(text, action + suffix))
    return types


def register_msgdef(typestore: Any, type_name: str, msgdef: str) -> None:
    """Register ``type_name`` and its dependencies from concatenated ``msgdef`` text."""
    check_type_name(type_name)
    try:
        types = _parse(msgdef, type_name)
        with _REGISTER_LOCK:
            typestore.register(types)
    except (TypesysError, ValueError, AssertionError) as exc:
        raise GraphError(f"cannot register the definition of {type_name}: {exc}") from None
    if type_name not in typestore.fielddefs:
        raise GraphError(f"the definition given for {type_name} does not define it")


def msgdef_of(typestore: Any, type_name: str) -> str:
    """The concatenated definition text of a known type (what rosbag2 stores)."""
    return typestore.generate_msgdef(type_name, ros_version=2)[0]


def service_types(typestore: Any, type_name: str) -> tuple[str, str]:
    """The request and response message types of service type ``type_name``."""
    check_type_name(type_name)
    request, response = f"{type_name}_Request", f"{type_name}_Response"
    if request not in typestore.fielddefs or response not in typestore.fielddefs:
        if "/action/" in type_name:
            action = type_name.rsplit("_", 1)[0]
            raise GraphError(f"unknown action type {action!r}; the embedded graph knows "
                             f"{', '.join(sorted(ACTIONS))}")
        known = ", ".join(sorted(SERVICES))
        raise GraphError(f"unknown service type {type_name!r}; the embedded graph knows {known}")
    return request, response
