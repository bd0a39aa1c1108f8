"""Set the annotation on a Pod and create it, keeping what the API server says: its Status on a
refusal, and its warnings either way."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from kubernetes.client import ApiException, CoreV1Api, V1ObjectMeta, V1Pod

from .annotation import ANNOTATION, Mount, annotation_value
from .warning_headers import ApiWarning, parse_warning_headers, warning_header_values

#: A Pod as the kubernetes client models it, or as a manifest (parsed YAML or JSON).
PodT = TypeVar("PodT", V1Pod, dict[str, object])

_DENIED_BY = re.compile(r'^admission webhook "([^"]+)" denied the request: (.*)$', re.DOTALL)


#: The annotation that names the sandbox's user, which fills ``{sandboxUser}`` in the policy.
SANDBOX_USER_ANNOTATION = "mountgate.io/sandbox-user"
#: The values mountgate fills a placeholder with; any other leaves the entry unused.
_PLACEHOLDER_VALUE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _not_text(user: object) -> str | None:
    if isinstance(user, str):
        return None
    return f"sandbox_user must be a string (an annotation value), not {type(user).__name__}"


def sandbox_user_problem(user: str) -> str | None:
    """Why ``user`` cannot fill ``{sandboxUser}`` (None when it can)."""
    not_text = _not_text(user)
    if not_text is not None:
        return not_text
    if _PLACEHOLDER_VALUE.fullmatch(user) is None:
        return (
            f"the sandbox user {json.dumps(user)} cannot fill {{sandboxUser}}: mountgate takes 1 to 64 "
            "letters, digits, '_' or '-', and leaves any other value unused"
        )
    return None


def with_mounts(
    pod: PodT,
    mounts: Iterable[Mount | Mapping[str, object]],
    annotation: str = ANNOTATION,
    *,
    sandbox_user: str | None = None,
    sandbox_user_annotation: str = SANDBOX_USER_ANNOTATION,
) -> PodT:
    """A copy of ``pod`` (a V1Pod or a manifest dict) that asks for ``mounts`` through the annotation.

    ``sandbox_user`` also names the sandbox's user, for policy entries with ``{sandboxUser}``;
    mountgate believes it only from a requester in the policy's ``trustedProvisioners`` and refuses a
    Pod with host mounts that carries it from anyone else. A value that is not a string raises
    TypeError; one that cannot fill the placeholder, or a ``sandbox_user_annotation`` equal to
    ``annotation``, raises ValueError.
    """
    value = annotation_value(mounts)
    added = {annotation: value}
    if sandbox_user is not None:
        not_text = _not_text(sandbox_user)
        if not_text is not None:
            raise TypeError(not_text)
        problem = sandbox_user_problem(sandbox_user)
        if problem is not None:
            raise ValueError(problem)
        if sandbox_user_annotation == annotation:
            # One key cannot hold both: the sandbox user would silently replace the mounts.
            raise ValueError(f"sandbox_user_annotation must differ from the mounts annotation (both are {annotation})")
        added[sandbox_user_annotation] = sandbox_user
    result = copy.deepcopy(pod)
    if isinstance(result, V1Pod):
        if result.metadata is None:
            result.metadata = V1ObjectMeta()
        result.metadata.annotations = {**(result.metadata.annotations or {}), **added}
    else:
        # A manifest may spell an empty field as null, as YAML's "metadata:" does.
        if result.get("metadata") is None:
            result["metadata"] = {}
        metadata = result["metadata"]
        if not isinstance(metadata, dict):
            raise TypeError("the manifest's metadata is not a mapping")
        # null (YAML's "annotations:") is none; any other value that is no mapping is refused, not replaced.
        annotations = metadata.get("annotations")
        if annotations is None:
            annotations = {}
        if not isinstance(annotations, dict):
            raise TypeError("the manifest's metadata.annotations is not a mapping")
        metadata["annotations"] = {**annotations, **added}
    return result


@dataclass(frozen=True)
class Admitted:
    """The Pod as the API server stored it (with the mounts mountgate added)."""

    pod: V1Pod
    warnings: list[ApiWarning] = field(default_factory=list)
    #: Warning header text that could not be parsed, kept rather than dropped.
    unparsed_warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Refused:
    """The API server's answer to a refused create: its Status, and any warnings it sent."""

    code: int
    #: Status.reason, e.g. "Forbidden"; None when the refusing party set none.
    reason: str | None
    message: str
    #: The admission webhook that refused the Pod, when one did, and its own words.
    webhook: str | None
    webhook_message: str | None
    warnings: list[ApiWarning] = field(default_factory=list)
    unparsed_warnings: list[str] = field(default_factory=list)
    #: The whole Status object as sent (empty when the body was not a Status).
    status: dict[str, object] = field(default_factory=dict)


def refusal(error: ApiException) -> Refused:
    """What the API server said in a failed call."""
    body: object = error.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    status: dict[str, object] = {}
    if isinstance(body, str):
        try:
            decoded: object = json.loads(body)
        except (ValueError, RecursionError):
            # JSONDecodeError, an integer past int_max_str_digits, or nesting past the recursion
            # limit: whatever the body, the refusal is returned, never an exception.
            decoded = None
        if isinstance(decoded, dict):
            status = decoded
    message = status.get("message")
    if not isinstance(message, str):
        message = body if isinstance(body, str) and body else str(error.reason or "")
    reason = status.get("reason")
    code = status.get("code")
    denied = _DENIED_BY.match(message)
    parsed = parse_warning_headers(warning_header_values(error.headers))
    return Refused(
        # JSON true is a Python int too; a Status code is a number.
        code=code if isinstance(code, int) and not isinstance(code, bool) else int(error.status or 0),
        reason=reason if isinstance(reason, str) and reason else None,
        message=message,
        webhook=denied.group(1) if denied else None,
        webhook_message=denied.group(2) if denied else None,
        warnings=parsed.warnings,
        unparsed_warnings=parsed.unparsed,
        status=status,
    )


def create_pod(
    api: CoreV1Api,
    namespace: str,
    pod: V1Pod | dict[str, object],
    mounts: Iterable[Mount | Mapping[str, object]] | None = None,
    *,
    annotation: str = ANNOTATION,
    sandbox_user: str | None = None,
    sandbox_user_annotation: str = SANDBOX_USER_ANNOTATION,
    dry_run: bool = False,
    request_timeout: float | None = None,
) -> Admitted | Refused:
    """Creates ``pod`` (with ``mounts`` set in the annotation, when given).

    ``mounts=None`` leaves the Pod's annotations as they are. ``mounts=[]`` sets the annotation to
    ``[]``, which asks for no mount but is still a request: a policy with ``requesters`` refuses it
    from anyone it does not list. ``sandbox_user`` is set beside the mounts, as ``with_mounts`` does
    (with ``mounts=None`` it raises ValueError: nothing would be set). ``request_timeout`` bounds the
    call in seconds (the client's default is to wait without limit).

    Any refusal by the API server (an admission webhook, RBAC, a conflict) comes back as Refused;
    errors that never reached an answer (connection, TLS) are raised.
    """
    if mounts is None and sandbox_user is not None:
        raise ValueError("sandbox_user is set beside the mounts: give mounts too")
    body = (
        pod
        if mounts is None
        else with_mounts(pod, mounts, annotation, sandbox_user=sandbox_user, sandbox_user_annotation=sandbox_user_annotation)
    )
    extra: dict[str, object] = {"dry_run": "All"} if dry_run else {}
    if request_timeout is not None:
        extra["_request_timeout"] = request_timeout
    try:
        created, _, headers = api.create_namespaced_pod_with_http_info(namespace, body, **extra)
    except ApiException as error:
        return refusal(error)
    parsed = parse_warning_headers(warning_header_values(headers))
    return Admitted(pod=created, warnings=parsed.warnings, unparsed_warnings=parsed.unparsed)
