"""deploy/k8s/sandbox.yaml, with no cluster: every object is valid for the pinned Kubernetes
version (kubernetes-validate, strict: an unknown or misplaced field fails), and it deploys what
the README promises: one sandbox per pod, the parts as containers of the one image sharing a home,
only the proxy beyond the pod's loopback, non-root, probes on each part's health, resource limits."""

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.test_compose import check_cli

MANIFEST = Path(__file__).resolve().parent.parent / "deploy" / "k8s" / "sandbox.yaml"
KUBERNETES = "1.33.0"  # a version managed clusters run; the schemas ship in kubernetes-validate


def objects() -> dict[str, dict]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(MANIFEST.read_text())}


def pod() -> dict:
    return objects()["Deployment"]["spec"]["template"]["spec"]


@pytest.mark.parametrize("kind", ["PersistentVolumeClaim", "Deployment", "Service"])
def test_each_object_is_valid_for_the_pinned_kubernetes(kind):
    kubernetes_validate.validate(objects()[kind], KUBERNETES, strict=True)


def test_a_misplaced_field_is_caught():
    """The validation is not vacuous: a typo in a container is refused."""
    deployment = objects()["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["resource"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="resource"):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_the_pod_runs_every_part_of_the_sandbox_on_one_home():
    from services import _MODULES

    containers = {c["name"]: c for c in pod()["containers"]}
    assert set(containers) == {"proxy", "control", *_MODULES}
    volumes = {v["name"]: v for v in pod()["volumes"]}
    claim = objects()["PersistentVolumeClaim"]["metadata"]["name"]
    assert volumes["home"]["persistentVolumeClaim"]["claimName"] == claim
    for name, container in containers.items():
        assert container["image"] == "agent-sandbox:dev"
        check_cli(container["args"])
        assert {"name": "home", "mountPath": "/sandbox-home"} in container["volumeMounts"], name
    proxy = containers["proxy"]["args"]
    routes = dict(proxy[i + 1].split("=") for i, arg in enumerate(proxy) if arg == "--service")
    ports = {name: c["ports"][0]["containerPort"] for name, c in containers.items()}
    assert routes == {name: f"127.0.0.1:{ports[name]}" for name in _MODULES}


def test_only_the_proxy_listens_beyond_the_pods_loopback_and_only_it_is_a_service():
    for container in pod()["containers"]:
        args = container["args"]
        beyond = "--allow-remote" in args
        assert beyond == (container["name"] == "proxy"), container["name"]
    service = objects()["Service"]
    assert service["spec"]["type"] == "ClusterIP"
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["proxy"]
    assert service["spec"]["selector"] == objects()["Deployment"]["spec"]["selector"]["matchLabels"]


def test_non_root_read_only_and_limited():
    security = pod()["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] == 10001
    assert pod()["automountServiceAccountToken"] is False
    for container in pod()["containers"]:
        own = container["securityContext"]
        assert own["allowPrivilegeEscalation"] is False and own["capabilities"]["drop"] == ["ALL"]
        assert own["readOnlyRootFilesystem"] is True
        limits = container["resources"]["limits"]
        assert limits["cpu"] and limits["memory"], container["name"]


def test_each_part_is_probed_on_its_own_health_endpoint():
    for container in pod()["containers"]:
        port = container["ports"][0]["containerPort"]
        for probe in ("readinessProbe", "livenessProbe"):
            command = container[probe]["exec"]["command"]
            check_cli(command)
            assert command[-1].startswith(f"http://127.0.0.1:{port}/"), (container["name"], probe)
