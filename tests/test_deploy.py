"""deploy/: the Kubernetes manifests validate against the API schemas and agree with each other, the server's
settings and the container build file (which cannot be built here: no container engine runs on CI).
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from crosswire_server.config import ENV_PREFIX, ServerConfig
from crosswire_server.exiting import EXIT_MARGIN_S

kubernetes_validate = pytest.importorskip("kubernetes_validate")

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
MANIFESTS = DEPLOY / "kubernetes"
#: The oldest Kubernetes the manifests target (native gRPC probes are GA since 1.27, autoscaling/v2 since 1.23)
#: and the newest whose schemas kubernetes-validate ships.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")


def documents(name: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((MANIFESTS / name).read_text(encoding="utf-8")) if doc]


def resources() -> list[dict[str, Any]]:
    """Every Kubernetes object in deploy/kubernetes (the kustomization is not one)."""
    return [doc for path in sorted(MANIFESTS.glob("*.yaml")) if path.name != "kustomization.yaml"
            for doc in documents(path.name)]


def one(kind: str, name: str | None = None, file: str | None = None) -> dict[str, Any]:
    found = [doc for doc in (documents(file) if file else resources())
             if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_spec() -> dict[str, Any]:
    return one("Deployment", "crosswire")["spec"]["template"]["spec"]


def server_container() -> dict[str, Any]:
    return next(c for c in pod_spec()["containers"] if c["name"] == "crosswire")


def settings() -> dict[str, str]:
    return one("ConfigMap", "crosswire")["data"]


def port(container: dict[str, Any], name: str) -> int:
    return next(p["containerPort"] for p in container["ports"] if p["name"] == name)


def containerfile() -> str:
    return (DEPLOY / "Containerfile").read_text(encoding="utf-8")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_manifest_validates_strictly_against_the_kubernetes_schemas(version: str) -> None:
    checked = 0
    for doc in resources():
        kubernetes_validate.validate(doc, version, strict=True)
        checked += 1
    assert checked >= 9


def test_a_wrong_field_is_caught_by_the_validation() -> None:
    deployment = one("Deployment", "crosswire")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["grpc"]["port"] = "grpc"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_kustomization_lists_the_manifests_and_leaves_the_secret_out() -> None:
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml",
                                                                   "postgres.example.yaml"}


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_the_manifests() -> None:
    rendered = subprocess.run(["kubectl", "kustomize", str(MANIFESTS)], capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0, rendered.stderr
    kinds = sorted(doc["kind"] for doc in yaml.safe_load_all(rendered.stdout))
    assert kinds == ["ConfigMap", "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget",
                     "Service", "Service"]


def test_probes_containers_and_services_use_the_port_the_server_listens_on() -> None:
    container = server_container()
    grpc_port = int(settings()["CROSSWIRE_PORT"])
    assert port(container, "grpc") == grpc_port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"]["port"] == grpc_port, probe
    for service in ("crosswire", "crosswire-headless"):
        grpc = next(p for p in one("Service", service)["spec"]["ports"] if p["name"] == "grpc")
        assert grpc["port"] == grpc_port and grpc["targetPort"] == "grpc", service
    metrics_port = int(settings()["CROSSWIRE_METRICS_PORT"])
    assert port(container, "metrics") == metrics_port
    assert one("Deployment", "crosswire")["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] \
        == str(metrics_port)
    assert settings()["CROSSWIRE_HOST"] in ("0.0.0.0", "[::]"), "a pod must listen beyond loopback to be reachable"


def test_readiness_waits_for_models_and_liveness_asks_a_service_that_needs_none() -> None:
    from crosswire_server.app import SEGMENTATION_SERVICE

    container = server_container()
    assert container["readinessProbe"]["grpc"]["service"] == ""
    assert container["startupProbe"]["grpc"]["service"] == ""
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120, "model loading takes up to minutes"
    assert container["livenessProbe"]["grpc"]["service"] == SEGMENTATION_SERVICE


def test_the_headless_service_selects_the_pods_for_client_side_balancing() -> None:
    headless = one("Service", "crosswire-headless")
    labels = one("Deployment", "crosswire")["spec"]["template"]["metadata"]["labels"]
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"].get("publishNotReadyAddresses") is False
    for doc in (headless, one("Service", "crosswire")):
        assert doc["spec"]["selector"].items() <= labels.items()
    assert one("PodDisruptionBudget", "crosswire")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "dns:///crosswire-headless.NAMESPACE.svc.cluster.local:50051" in readme
    # dns:/// clients resolve again only when a connection closes: without retiring connections, replicas the
    # autoscaler adds would get no calls from running clients.
    assert float(settings()["CROSSWIRE_MAX_CONNECTION_AGE_S"]) > 0


def test_termination_grace_covers_the_prestop_sleep_and_the_servers_grace_period() -> None:
    grace = float(settings()["CROSSWIRE_GRACE_PERIOD_S"])
    command = server_container()["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    sleep = float(command[1])
    # The server exits at most EXIT_MARGIN_S after its grace period, whatever its worker threads still do.
    assert pod_spec()["terminationGracePeriodSeconds"] >= sleep + grace + EXIT_MARGIN_S
    assert sleep >= 3, "endpoint removal needs a few seconds to reach DNS and clients"


def test_configmap_keys_are_server_settings_with_valid_values() -> None:
    fields = {ENV_PREFIX + f.name.upper() for f in dataclasses.fields(ServerConfig)}
    data = settings()
    assert set(data) <= fields, f"not settings of ServerConfig: {set(data) - fields}"
    # The keys file exists only in the pod (the Secret's mount), so its path is checked against the mount instead.
    config = ServerConfig.from_env({k: v for k, v in data.items() if k != "CROSSWIRE_API_KEYS"})
    inter, intra = config.threads("cpu", cores=64)
    assert (inter, intra) == (2, 1), "threads must be set: a container sees all the node's cores"
    env = {e["name"] for e in server_container().get("env", []) if e["name"].startswith(ENV_PREFIX)}
    assert env <= fields, f"container variables that are not settings: {env - fields}"
    # Service links would add CROSSWIRE_PORT=tcp://… and the like for the Service named crosswire.
    assert pod_spec()["enableServiceLinks"] is False


def test_api_keys_file_and_library_url_come_from_the_secret() -> None:
    container, spec = server_container(), pod_spec()
    secret = one("Secret", "crosswire", "secret.example.yaml")
    keys_path = Path(settings()["CROSSWIRE_API_KEYS"])
    volume_name = next(m["name"] for m in container["volumeMounts"] if m["mountPath"] == str(keys_path.parent))
    volume = next(v for v in spec["volumes"] if v["name"] == volume_name)["secret"]
    assert volume["secretName"] == secret["metadata"]["name"]
    assert [item["path"] for item in volume["items"]] == [keys_path.name]
    assert {item["key"] for item in volume["items"]} <= set(secret["stringData"])
    library = next(e for e in container["env"] if e["name"] == "CROSSWIRE_LIBRARY")["valueFrom"]["secretKeyRef"]
    assert library["name"] == secret["metadata"]["name"] and library["key"] in secret["stringData"]
    assert secret["stringData"][library["key"]].startswith("postgresql://")


def test_pods_run_as_non_root_with_a_read_only_root_and_volumes_where_they_write() -> None:
    spec = pod_spec()
    assert spec["securityContext"]["runAsNonRoot"] is True
    user = re.search(r"^USER (\d+)", containerfile(), re.M)
    assert user and int(user.group(1)) != 0 and spec["securityContext"]["runAsUser"] == int(user.group(1))
    writable = {"/tmp", *re.findall(r"XDG_CACHE_HOME=(\S+)", containerfile())}
    for container in spec["initContainers"] + spec["containers"]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True and context["allowPrivilegeEscalation"] is False
        assert context["capabilities"]["drop"] == ["ALL"]
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        assert writable | {settings()["CROSSWIRE_MODELS_DIR"]} <= mounts, container["name"]
    assert spec["automountServiceAccountToken"] is False


def test_the_init_container_fetches_registered_models_into_the_servers_models_volume() -> None:
    from crosswire_models.registry import default_registry

    spec = pod_spec()
    fetch = next(c for c in spec["initContainers"] if c["name"] == "fetch-models")
    script = " ".join(fetch["args"])
    assert "crosswire models fetch" in script
    models_dir = shlex.split(script.split("--models-dir", 1)[1])[0].rstrip(";")
    assert models_dir == settings()["CROSSWIRE_MODELS_DIR"]
    volume = {m["mountPath"]: m["name"] for m in fetch["volumeMounts"]}[models_dir]
    served = {m["mountPath"]: m for m in server_container()["volumeMounts"]}[models_dir]
    assert served["name"] == volume and served.get("readOnly") is True
    names = one("ConfigMap", "crosswire-models")["data"]["names"].split()
    registry = default_registry()
    assert names and all(registry.get(name) for name in names)
    assert fetch["image"] == server_container()["image"]


def test_resources_are_guaranteed_and_cover_the_measured_peak_memory() -> None:
    resources_ = server_container()["resources"]
    assert resources_["requests"] == resources_["limits"], "Guaranteed QoS: requests equal limits"
    assert int(resources_["requests"]["cpu"]) == int(settings()["CROSSWIRE_INTER_THREADS"])
    memory = resources_["requests"]["memory"]
    assert memory.endswith("Mi") or memory.endswith("Gi")
    mib = int(memory[:-2]) * (1024 if memory.endswith("Gi") else 1)
    measured = re.search(r"peak \(VmHWM\)\D+(\d+) MB", (DEPLOY / "README.md").read_text(encoding="utf-8"))
    assert measured, "deploy/README.md records the measured peak resident memory"
    assert mib >= 1.25 * int(measured.group(1)), "a quarter of headroom over the measured peak"


def test_autoscaler_and_disruption_budget_fit_the_deployment() -> None:
    deployment = one("Deployment", "crosswire")
    hpa = one("HorizontalPodAutoscaler", "crosswire")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "crosswire"}
    assert hpa["spec"]["minReplicas"] <= deployment["spec"]["replicas"] <= hpa["spec"]["maxReplicas"]
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert one("PodDisruptionBudget", "crosswire")["spec"]["maxUnavailable"] < hpa["spec"]["minReplicas"]
    # The queue-depth example names the gauge the server exports.
    commented = re.search(r"#\s+name: (crosswire_\w+)", (MANIFESTS / "hpa.yaml").read_text(encoding="utf-8"))
    metrics = (REPO / "server" / "crosswire_server" / "metrics.py").read_text(encoding="utf-8")
    assert commented and f'GaugeMetricFamily("{commented.group(1)}"' in metrics


def test_containerfile_builds_in_two_stages_and_copies_no_model_weights() -> None:
    text = containerfile()
    assert len(re.findall(r"^FROM ", text, re.M)) == 2
    assert re.search(r'pip install "\.\[\$\{EXTRAS\}\]"', text) and "ARG EXTRAS=server" in text
    sources = []
    for line in re.findall(r"^COPY (?!--from)(.+)$", text, re.M):
        *paths, _ = line.split()
        sources += paths
    assert sources, "the build copies the package sources"
    weights = re.compile(r"\.(bin|argosmodel|npz|spm|model|pt|safetensors)$")
    for source in sources:
        assert not weights.search(source), source
        assert not source.startswith("models/") or source.startswith("models/crosswire_models"), source
        tracked = subprocess.run(["git", "ls-files", source], cwd=REPO, capture_output=True, text=True).stdout
        assert not [f for f in tracked.split() if weights.search(f)], f"{source} holds model files"
    ignore = (DEPLOY / "Containerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    assert ignore[[line.startswith("#") for line in ignore].index(False)] == "*", "ignore everything by default"
    assert re.search(r'^ENTRYPOINT \["crosswire"\]', text, re.M) and "HEALTHCHECK" not in text
