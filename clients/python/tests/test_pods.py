"""Setting the annotation on a Pod, and reading a refusal, without an API server."""

from __future__ import annotations

import json

import pytest
from kubernetes.client import ApiException, V1Container, V1ObjectMeta, V1Pod, V1PodSpec
from urllib3 import HTTPHeaderDict

from mountgate_client import ANNOTATION, SANDBOX_USER_ANNOTATION, Admitted, ApiWarning, Mount, Refused, create_pod, refusal, sandbox_user_problem, with_mounts

MOUNTS = [Mount("/srv/sandbox/a", "/data")]
VALUE = '[{"hostPath":"/srv/sandbox/a","mountPath":"/data"}]'


def test_sets_the_annotation_on_a_v1pod_copy_keeping_others() -> None:
    pod = V1Pod(metadata=V1ObjectMeta(name="p", annotations={"other": "x"}), spec=V1PodSpec(containers=[V1Container(name="sandbox")]))
    result = with_mounts(pod, MOUNTS)
    assert result.metadata.annotations == {"other": "x", ANNOTATION: VALUE}
    assert pod.metadata.annotations == {"other": "x"}


def test_sets_the_annotation_on_a_v1pod_without_metadata() -> None:
    assert with_mounts(V1Pod(), MOUNTS, annotation="example.com/m").metadata.annotations == {"example.com/m": VALUE}


def test_sets_the_annotation_on_a_manifest_copy() -> None:
    manifest: dict[str, object] = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": None}}
    result = with_mounts(manifest, MOUNTS)
    assert result["metadata"] == {"name": "p", "annotations": {ANNOTATION: VALUE}}
    assert manifest["metadata"] == {"name": "p", "annotations": None}


def test_replaces_a_mounts_annotation_the_pod_already_has() -> None:
    # A Pod made from a template that already asks for mounts asks for the new ones only.
    old = '[{"hostPath":"/srv/sandbox/old","mountPath":"/old"}]'
    pod = V1Pod(metadata=V1ObjectMeta(annotations={ANNOTATION: old, "other": "x"}))
    assert with_mounts(pod, MOUNTS).metadata.annotations == {ANNOTATION: VALUE, "other": "x"}
    manifest: dict[str, object] = {"metadata": {"annotations": {ANNOTATION: old, "other": "x"}}}
    assert with_mounts(manifest, MOUNTS) == {"metadata": {"annotations": {ANNOTATION: VALUE, "other": "x"}}}


def test_sets_the_annotation_on_a_manifest_whose_metadata_is_null() -> None:
    assert with_mounts({"kind": "Pod", "metadata": None}, MOUNTS) == {"kind": "Pod", "metadata": {"annotations": {ANNOTATION: VALUE}}}


def test_refuses_a_manifest_whose_metadata_is_not_a_mapping() -> None:
    with pytest.raises(TypeError) as raised:
        with_mounts({"metadata": ["p"]}, MOUNTS)
    assert str(raised.value) == "the manifest's metadata is not a mapping"


@pytest.mark.parametrize("annotations", [[], "", 0, False, ["other"]], ids=["an empty list", "an empty text", "zero", "false", "a list"])
def test_refuses_a_manifest_whose_annotations_are_not_a_mapping(annotations: object) -> None:
    # Not replaced by an empty mapping: the API server would refuse the manifest as written.
    with pytest.raises(TypeError) as raised:
        with_mounts({"metadata": {"annotations": annotations}}, MOUNTS)
    assert str(raised.value) == "the manifest's metadata.annotations is not a mapping"


def api_exception(status: int, reason: str, body: str | bytes, headers: HTTPHeaderDict) -> ApiException:
    error = ApiException(status=status, reason=reason)
    error.body = body
    error.headers = headers
    return error


STATUS = {
    "kind": "Status",
    "apiVersion": "v1",
    "status": "Failure",
    "message": 'admission webhook "pods.mutate.mountgate.io" denied the request: mountgate denied the Pod: metadata.annotations[mountgate.io/mounts][0].hostPath: "/etc" is not under any allowed host path',
    "reason": "Forbidden",
    "code": 403,
}


def test_reads_a_webhook_denial() -> None:
    headers = HTTPHeaderDict([("Content-Type", "application/json"), ("Warning", '299 - "repeats entry [0], \\"merged\\""')])
    refused = refusal(api_exception(403, "Forbidden", json.dumps(STATUS).encode(), headers))
    assert refused.code == 403
    assert refused.reason == "Forbidden"
    assert refused.message == STATUS["message"]
    assert refused.webhook == "pods.mutate.mountgate.io"
    assert refused.webhook_message == 'mountgate denied the Pod: metadata.annotations[mountgate.io/mounts][0].hostPath: "/etc" is not under any allowed host path'
    assert refused.warnings == [ApiWarning(299, "-", 'repeats entry [0], "merged"')]
    assert refused.status == STATUS


def test_reads_a_webhook_denial_that_spans_lines() -> None:
    # Node's JSON.parse quotes the text it could not read as it is, newlines and all.
    words = 'mountgate denied the Pod: metadata.annotations[mountgate.io/mounts]: is not valid JSON (Unexpected token \'m\', "mounts:\n/srv" is not valid JSON)'
    status = {**STATUS, "message": f'admission webhook "pods.mutate.mountgate.io" denied the request: {words}'}
    refused = refusal(api_exception(403, "Forbidden", json.dumps(status), HTTPHeaderDict()))
    assert (refused.webhook, refused.webhook_message) == ("pods.mutate.mountgate.io", words)


DEEP = "[" * 100_000 + "]" * 100_000
HUGE_INT = "{\"code\": " + "1" * 5000 + "}"
NUMBER_MESSAGE = json.dumps({"kind": "Status", "message": 5, "reason": "Conflict", "code": 409})

# (id, HTTP status, body, code, reason, message, webhook)
BODIES: list[tuple[str, int, str | bytes, int, str | None, str, str | None]] = [
    ("a Status without a reason", 403, json.dumps({**STATUS, "reason": ""}), 403, None, str(STATUS["message"]), "pods.mutate.mountgate.io"),
    (
        "a Status of another refusal",
        409,
        json.dumps({"kind": "Status", "message": 'pods "p" already exists', "reason": "AlreadyExists", "code": 409}),
        409,
        "AlreadyExists",
        'pods "p" already exists',
        None,
    ),
    ("a body that is not JSON", 503, "upstream connect error", 503, None, "upstream connect error", None),
    ("no body", 503, "", 503, None, "Service Unavailable", None),
    # A proxy's page in another encoding: read with U+FFFD for what is no UTF-8, never an exception.
    ("a body that is not UTF-8", 503, "bad gateway \xe9t\xe9".encode("latin-1"), 503, None, "bad gateway \ufffdt\ufffd", None),
    ("a body nested past the recursion limit", 503, DEEP, 503, None, DEEP, None),
    ("a body with an integer longer than Python reads", 503, HUGE_INT, 503, None, HUGE_INT, None),
    ("a JSON body that is not an object", 503, '["not", "a", "Status"]', 503, None, '["not", "a", "Status"]', None),
    ("a Status whose message is not a string", 409, NUMBER_MESSAGE, 409, "Conflict", NUMBER_MESSAGE, None),
    ("a Status whose code is true", 409, json.dumps({"kind": "Status", "message": "m", "code": True}), 409, None, "m", None),
    ("a Status whose code is a string", 409, json.dumps({"kind": "Status", "message": "m", "code": "403"}), 409, None, "m", None),
]


@pytest.mark.parametrize(("http", "body", "code", "reason", "message", "webhook"), [row[1:] for row in BODIES], ids=[row[0] for row in BODIES])
def test_reads_other_answers(http: int, body: str | bytes, code: int, reason: str | None, message: str, webhook: str | None) -> None:
    refused = refusal(api_exception(http, "Service Unavailable" if http == 503 else "Conflict", body, HTTPHeaderDict()))
    assert (refused.code, refused.reason, refused.message, refused.webhook, refused.warnings) == (code, reason, message, webhook, [])


def test_names_the_sandbox_user_beside_the_mounts() -> None:
    pod = V1Pod(metadata=V1ObjectMeta(name="p", annotations={"other": "x"}))
    result = with_mounts(pod, MOUNTS, sandbox_user="u3")
    assert result.metadata.annotations == {"other": "x", ANNOTATION: VALUE, SANDBOX_USER_ANNOTATION: "u3"}
    manifest = with_mounts({"metadata": {}}, MOUNTS, sandbox_user="u_3-a", sandbox_user_annotation="example.com/user")
    assert manifest == {"metadata": {"annotations": {ANNOTATION: VALUE, "example.com/user": "u_3-a"}}}


@pytest.mark.parametrize(
    "user",
    ["", "alice.smith", "system:serviceaccount:ns:sa", "a/b", "x" * 65, "ü"],
    ids=["empty", "a dot", "a service account", "a slash", "65 characters", "beyond ASCII"],
)
def test_refuses_a_sandbox_user_that_cannot_fill_the_placeholder(user: str) -> None:
    with pytest.raises(ValueError) as raised:
        with_mounts(V1Pod(), MOUNTS, sandbox_user=user)
    assert str(raised.value) == (
        f"the sandbox user {json.dumps(user)} cannot fill {{sandboxUser}}: mountgate takes 1 to 64 "
        "letters, digits, '_' or '-', and leaves any other value unused"
    )
    assert sandbox_user_problem("x" * 64) is None


@pytest.mark.parametrize(
    ("user", "kind"),
    [(1001, "int"), (b"u3", "bytes"), (["u3"], "list")],
    ids=["a numeric user id", "bytes", "a list"],
)
def test_refuses_a_sandbox_user_that_is_not_a_string(user: object, kind: str) -> None:
    # A provisioner's user ids are often numbers; re would raise "expected string or bytes-like object".
    message = f"sandbox_user must be a string (an annotation value), not {kind}"
    with pytest.raises(TypeError) as raised:
        with_mounts(V1Pod(), MOUNTS, sandbox_user=user)  # type: ignore[arg-type]
    assert str(raised.value) == message
    with pytest.raises(TypeError) as raised:
        create_pod(RecordingApi(), "agents", V1Pod(), MOUNTS, sandbox_user=user)  # type: ignore[arg-type]
    assert str(raised.value) == message
    assert sandbox_user_problem(user) == message  # type: ignore[arg-type]


class RecordingApi:
    """Stands for CoreV1Api: answers create_namespaced_pod_with_http_info with the body it was given, and keeps the call."""

    def __init__(self, headers: HTTPHeaderDict | None = None, error: ApiException | None = None) -> None:
        self.calls: list[tuple[str, object, dict[str, object]]] = []
        self.headers = HTTPHeaderDict() if headers is None else headers
        self.error = error

    def create_namespaced_pod_with_http_info(self, namespace: str, body: object, **kwargs: object) -> tuple[object, int, HTTPHeaderDict]:
        self.calls.append((namespace, body, kwargs))
        if self.error is not None:
            raise self.error
        return body, 201, self.headers


def test_create_pod_passes_the_sandbox_user_dry_run_and_timeout() -> None:
    api = RecordingApi()
    result = create_pod(api, "agents", V1Pod(), MOUNTS, sandbox_user="u3", dry_run=True, request_timeout=2.5)
    assert isinstance(result, Admitted)
    [(namespace, body, kwargs)] = api.calls
    assert namespace == "agents"
    assert isinstance(body, V1Pod) and body.metadata.annotations == {ANNOTATION: VALUE, SANDBOX_USER_ANNOTATION: "u3"}
    assert kwargs == {"dry_run": "All", "_request_timeout": 2.5}


def test_create_pod_keeps_the_warnings_of_an_admitted_pod() -> None:
    api = RecordingApi(HTTPHeaderDict([("Warning", '299 - "repeats entry [0]"'), ("Warning", "junk")]))
    result = create_pod(api, "agents", V1Pod(), MOUNTS)
    assert isinstance(result, Admitted)
    assert (result.warnings, result.unparsed_warnings) == ([ApiWarning(299, "-", "repeats entry [0]")], ["junk"])


def test_create_pod_answers_a_refusal_with_refused() -> None:
    headers = HTTPHeaderDict([("Warning", '299 - "repeats entry [0]"')])
    result = create_pod(RecordingApi(error=api_exception(403, "Forbidden", json.dumps(STATUS), headers)), "agents", V1Pod(), MOUNTS)
    assert isinstance(result, Refused)
    assert (result.code, result.reason, result.webhook, result.status) == (403, "Forbidden", "pods.mutate.mountgate.io", STATUS)
    assert result.warnings == [ApiWarning(299, "-", "repeats entry [0]")]


def test_create_pod_without_mounts_refuses_a_sandbox_user_and_leaves_the_pod_alone() -> None:
    api = RecordingApi()
    with pytest.raises(ValueError, match="give mounts too"):
        create_pod(api, "agents", V1Pod(), sandbox_user="u3")
    pod = V1Pod(metadata=V1ObjectMeta(annotations={"other": "x"}))
    create_pod(api, "agents", pod)
    [(_, body, kwargs)] = api.calls
    assert body is pod and kwargs == {}


def test_create_pod_with_no_mounts_still_sets_the_annotation() -> None:
    # mounts=[] is a request for nothing (a policy with requesters judges it), not mounts=None.
    api = RecordingApi()
    create_pod(api, "agents", {"metadata": {"name": "p"}}, [])
    [(_, body, _)] = api.calls
    assert body == {"metadata": {"name": "p", "annotations": {ANNOTATION: "[]"}}}


@pytest.mark.parametrize("annotation", [ANNOTATION, "example.com/m"])
def test_refuses_a_sandbox_user_annotation_that_is_the_mounts_annotation(annotation: str) -> None:
    # One key cannot hold both: the sandbox user would replace the mounts (mountgate's policy refuses it too).
    with pytest.raises(ValueError) as raised:
        with_mounts({"metadata": {}}, MOUNTS, annotation, sandbox_user="u3", sandbox_user_annotation=annotation)
    assert str(raised.value) == f"sandbox_user_annotation must differ from the mounts annotation (both are {annotation})"
