"""The helper against a real kube-apiserver with mountgate's webhooks in front of it.

Run through ``npm run test:python``, which starts the API server, mountgate and its webhooks as
the end-to-end suite does (test/e2e/tools/with-cluster.ts), and sets KUBECONFIG and the
MOUNTGATE_TEST_* variables. The suite's policy allows /srv/sandbox read-write and /srv/datasets
read-only, into containers named sandbox.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator

import pytest
from kubernetes import client, config
from kubernetes.client import ApiException, CoreV1Api

from mountgate_client import ANNOTATION, Admitted, ApiWarning, Mount, Refused, create_pod

pytestmark = pytest.mark.cluster
A = f"metadata.annotations[{ANNOTATION}]"


def environment(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run these tests through `npm run test:python`")
    return value


@pytest.fixture(scope="module")
def core() -> CoreV1Api:
    api_client = config.new_client_from_config(config_file=environment("KUBECONFIG"))
    return CoreV1Api(api_client)


@pytest.fixture(scope="module")
def namespace() -> str:
    return environment("MOUNTGATE_TEST_NAMESPACE")


@pytest.fixture
def name(core: CoreV1Api, namespace: str) -> Iterator[str]:
    """A fresh Pod name; the Pod, if created, is deleted afterwards."""
    pod_name = f"py-{secrets.token_hex(4)}"
    yield pod_name
    try:
        core.delete_namespaced_pod(pod_name, namespace, grace_period_seconds=0)
    except ApiException as error:
        if error.status != 404:
            raise


def sandbox(name: str) -> client.V1Pod:
    """A sandbox Pod as a provisioner writes it: one container named sandbox."""
    return client.V1Pod(
        api_version="v1",
        kind="Pod",
        metadata=client.V1ObjectMeta(name=name, labels={"app": "deer-flow-sandbox"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="sandbox", image="sandbox:latest")]),
    )


def volume_name(host_path: str) -> str:
    return "mountgate-" + hashlib.sha256(host_path.encode()).hexdigest()[:12]


def admitted(result: Admitted | Refused) -> Admitted:
    assert isinstance(result, Admitted), f"refused: {result}"
    return result


def refused(result: Admitted | Refused) -> Refused:
    assert isinstance(result, Refused), "admitted, but should have been refused"
    return result


def stored_mounts(core: CoreV1Api, namespace: str, name: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, bool | None]]]:
    """The Pod's hostPath volumes (name, path, type) and its sandbox container's mounts, as stored."""
    pod = core.read_namespaced_pod(name, namespace)
    volumes = [(v.name, v.host_path.path, v.host_path.type) for v in pod.spec.volumes or [] if v.host_path is not None]
    container = pod.spec.containers[0]
    mounts = [(m.name, m.mount_path, m.read_only) for m in container.volume_mounts or [] if m.name.startswith("mountgate-")]
    return volumes, mounts


def test_admits_a_pod_and_the_api_server_stores_the_mounts(core: CoreV1Api, namespace: str, name: str) -> None:
    workspace = f"/srv/sandbox/{name}"
    result = admitted(
        create_pod(core, namespace, sandbox(name), [Mount(workspace, "/workspace", read_only=False), Mount("/srv/datasets/imagenet", "/datasets")])
    )
    assert result.warnings == []
    assert result.pod.metadata.annotations[ANNOTATION] == (
        f'[{{"hostPath":"{workspace}","mountPath":"/workspace","readOnly":false}},'
        '{"hostPath":"/srv/datasets/imagenet","mountPath":"/datasets"}]'
    )
    assert stored_mounts(core, namespace, name) == (
        [(volume_name(workspace), workspace, "DirectoryOrCreate"), (volume_name("/srv/datasets/imagenet"), "/srv/datasets/imagenet", "Directory")],
        [(volume_name(workspace), "/workspace", None), (volume_name("/srv/datasets/imagenet"), "/datasets", True)],
    )


def test_admits_a_manifest_in_the_deer_flow_spelling(core: CoreV1Api, namespace: str, name: str) -> None:
    manifest: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "sandbox", "image": "sandbox:latest"}]},
    }
    admitted(create_pod(core, namespace, manifest, [{"host_path": "/srv/sandbox/shared", "container_path": "/mnt/shared", "read_only": True}]))
    assert stored_mounts(core, namespace, name) == (
        [(volume_name("/srv/sandbox/shared"), "/srv/sandbox/shared", "Directory")],
        [(volume_name("/srv/sandbox/shared"), "/mnt/shared", True)],
    )


def test_refuses_a_mount_outside_the_allow_list_with_mountgates_message_and_reason(core: CoreV1Api, namespace: str, name: str) -> None:
    result = refused(create_pod(core, namespace, sandbox(name), [Mount("/etc", "/mnt/etc")]))
    expected = f'mountgate denied the Pod: {A}[0].hostPath: "/etc" is not under any allowed host path'
    assert (result.code, result.reason) == (403, "Forbidden")
    assert (result.webhook, result.webhook_message) == (environment("MOUNTGATE_TEST_MUTATE_WEBHOOK"), expected)
    assert result.message == f'admission webhook "{result.webhook}" denied the request: {expected}'
    assert result.warnings == []
    with pytest.raises(ApiException) as lookup:
        core.read_namespaced_pod(name, namespace)
    assert lookup.value.status == 404


def test_surfaces_the_warning_for_identical_requests_merged(core: CoreV1Api, namespace: str, name: str) -> None:
    mount = Mount("/srv/sandbox/ä-data", "/data")
    result = admitted(create_pod(core, namespace, sandbox(name), [mount, mount]))
    assert result.warnings == [ApiWarning(299, "-", f"{A}[1] repeats entry [0] (/srv/sandbox/ä-data at /data); merged into one mount")]
    assert result.unparsed_warnings == []
    assert stored_mounts(core, namespace, name)[1] == [(volume_name("/srv/sandbox/ä-data"), "/data", None)]


def test_surfaces_warnings_on_a_refusal_too(core: CoreV1Api, namespace: str, name: str) -> None:
    mount = Mount("/srv/sandbox/a", "/data", read_only=True)
    result = refused(create_pod(core, namespace, sandbox(name), [mount, mount, Mount("/srv/datasets/x", "/mnt/x", read_only=False)]))
    assert result.code == 403
    assert result.webhook_message == (
        f'mountgate denied the Pod: {A}[2].readOnly: "/srv/datasets/x" is under the read-only prefix "/srv/datasets" and must be mounted read-only'
    )
    assert result.warnings == [ApiWarning(299, "-", f"{A}[1] repeats entry [0] (/srv/sandbox/a at /data); merged into one mount")]


def test_dry_run_answers_like_a_create_and_stores_nothing(core: CoreV1Api, namespace: str, name: str) -> None:
    admitted(create_pod(core, namespace, sandbox(name), [Mount("/srv/sandbox/a", "/data")], dry_run=True))
    with pytest.raises(ApiException) as lookup:
        core.read_namespaced_pod(name, namespace)
    assert lookup.value.status == 404


def test_reports_refusals_that_are_not_mountgates(core: CoreV1Api, namespace: str, name: str) -> None:
    admitted(create_pod(core, namespace, sandbox(name), [Mount("/srv/sandbox/a", "/data")]))
    result = refused(create_pod(core, namespace, sandbox(name), [Mount("/srv/sandbox/a", "/data")]))
    assert (result.code, result.reason, result.webhook) == (409, "AlreadyExists", None)
    assert result.message == f'pods "{name}" already exists'
