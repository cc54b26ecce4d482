"""What can be checked of deploy/ without a container engine, a cluster or a cloud account.

- every YAML and JSON file parses;
- Kubernetes objects of built-in kinds validate against the Kubernetes API schemas
  (kubernetes-validate, offline, strict: unknown fields fail); the custom resources
  (Strimzi Kafka/KafkaNodePool/KafkaTopic, FlinkDeployment) have the fields their operators
  require and refer to objects that exist;
- the compose file's wiring: dependencies, volumes, mounted files, network namespaces,
  Prometheus targets, Grafana provisioning, Kafka in KRaft mode;
- every `newswire ...` command line in deploy/ parses with the real CLI parser, and the
  Beam options it hands on exist in the installed Beam (or are Flink job server options);
- the dashboard's metric names exist in pipeline/metrics.py, and every metric is shown;
- the Dockerfiles copy paths that exist and pin the Beam version the project uses.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

import pipeline.enrich.options  # noqa: F401  (registers newswire's PipelineOptions subclass)
from pipeline import metrics
from pipeline.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_DIR = DEPLOY / "compose"
K8S_DIR = DEPLOY / "k8s"
K8S_VERSION = "1.30"
TOPICS = {"news.raw", "news.enriched", "news.deadletter"}
# Options of Beam's Java FlinkPipelineOptions: the Flink job server declares them to the
# Python SDK when a pipeline is submitted, so they are unknown to Beam offline.
FLINK_JOB_SERVER_OPTIONS = {"--checkpointing_interval", "--savepoint_path"}
CRD_KINDS = {"Kafka", "KafkaNodePool", "KafkaTopic", "FlinkDeployment"}
# deploy/ names the Beam of the lock, which `make` installs (a fresh install gets exactly it).
BEAM_VERSION = re.search(
    r"^apache-beam==(\S+)$", (ROOT / "constraints.txt").read_text("utf-8"), re.MULTILINE
).group(1)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


YAML_FILES = sorted([*DEPLOY.rglob("*.yml"), *DEPLOY.rglob("*.yaml")])
JSON_FILES = sorted(DEPLOY.rglob("*.json"))


def load_yaml_docs(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc is not None]


def k8s_objects() -> list[tuple[str, dict]]:
    objects = []
    for path in sorted(K8S_DIR.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            objects += [(f"{rel(path)}:{doc['kind']}/{doc['metadata']['name']}", doc)
                        for doc in load_yaml_docs(path)]
    return objects


K8S = k8s_objects()


def of_kind(kind: str) -> list[dict]:
    return [doc for _, doc in K8S if doc["kind"] == kind]


def compose() -> dict:
    return yaml.safe_load((COMPOSE_DIR / "docker-compose.yml").read_text("utf-8"))


# --- syntax ---------------------------------------------------------------------------------

def test_deploy_holds_the_files_to_check():
    assert len(YAML_FILES) >= 10 and len(JSON_FILES) >= 2


@pytest.mark.parametrize("path", YAML_FILES, ids=rel)
def test_yaml_parses(path):
    assert load_yaml_docs(path), f"{rel(path)} holds no YAML document"


@pytest.mark.parametrize("path", JSON_FILES, ids=rel)
def test_json_parses(path):
    json.loads(path.read_text("utf-8"))


# --- Kubernetes -----------------------------------------------------------------------------

def test_kustomization_lists_every_manifest_and_only_those():
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text("utf-8"))
    listed = set(kustomization["resources"])
    present = {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == present
    assert kustomization["namespace"] == "newswire"
    assert {doc["metadata"].get("namespace") for _, doc in K8S} - {None} == {"newswire"}


@pytest.mark.parametrize(("name", "doc"), [(n, d) for n, d in K8S if d["kind"] not in CRD_KINDS],
                         ids=[n for n, d in K8S if d["kind"] not in CRD_KINDS])
def test_builtin_kinds_validate_against_the_kubernetes_schema(name, doc):
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{name}: {'.'.join(map(str, exc.path))}: {exc.message}")


def test_the_kinds_without_a_kubernetes_schema_are_the_custom_ones_checked_below():
    custom = set()
    for _, doc in K8S:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION)
        except kubernetes_validate.SchemaNotFoundError:
            custom.add(doc["kind"])
        except kubernetes_validate.ValidationError:
            pass  # a built-in kind; its own test reports the problem
    assert custom == CRD_KINDS


def test_strimzi_kafka_runs_in_kraft_mode_with_node_pools():
    (kafka,) = of_kind("Kafka")
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1beta2"
    annotations = kafka["metadata"]["annotations"]
    assert annotations["strimzi.io/kraft"] == "enabled"
    assert annotations["strimzi.io/node-pools"] == "enabled"
    spec = kafka["spec"]
    assert "zookeeper" not in spec
    assert re.fullmatch(r"\d+\.\d+\.\d+", spec["kafka"]["version"])
    for listener in spec["kafka"]["listeners"]:
        assert {"name", "port", "type", "tls"} <= set(listener)
    assert spec["kafka"]["config"]["min.insync.replicas"] >= 2
    pools = of_kind("KafkaNodePool")
    assert pools
    roles = set()
    for pool in pools:
        assert pool["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert pool["spec"]["replicas"] >= 3
        roles |= set(pool["spec"]["roles"])
        storage = pool["spec"]["storage"]
        assert storage["type"] == "jbod"
        for volume in storage["volumes"]:
            assert {"id", "type", "size"} <= set(volume)
    assert roles == {"controller", "broker"}


def test_topics_are_the_ones_the_commands_use_on_the_strimzi_cluster():
    (kafka,) = of_kind("Kafka")
    brokers = sum(pool["spec"]["replicas"] for pool in of_kind("KafkaNodePool"))
    topics = of_kind("KafkaTopic")
    assert {t["metadata"]["name"] for t in topics} == TOPICS
    for topic in topics:
        assert topic["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert isinstance(topic["spec"]["partitions"], int) and topic["spec"]["partitions"] >= 1
        assert 1 <= topic["spec"]["replicas"] <= brokers


def test_flink_deployment_has_what_the_operator_and_beam_need():
    (flink,) = of_kind("FlinkDeployment")
    assert flink["apiVersion"] == "flink.apache.org/v1beta1"
    spec = flink["spec"]
    assert spec["image"] and spec["flinkVersion"] == "v1_20"
    assert spec["serviceAccount"] in {sa["metadata"]["name"] for sa in of_kind("ServiceAccount")}
    for role in ("jobManager", "taskManager"):
        assert {"memory", "cpu"} <= set(spec[role]["resource"])
    job = spec["job"]
    assert job["jarURI"] == "local:///opt/flink/usrlib/beam-runners-flink-job-server.jar"
    assert job["entryClass"] == "org.apache.beam.runners.flink.FlinkPortableClientEntryPoint"
    assert job["args"][0] == "--driver-cmd" and len(job["args"]) == 2
    assert job["upgradeMode"] in {"stateless", "savepoint", "last-state"}
    assert job["state"] in {"running", "suspended"}
    assert isinstance(job["parallelism"], int) and job["parallelism"] >= 1
    (main_container,) = spec["podTemplate"]["spec"]["containers"]
    assert main_container["name"] == "flink-main-container"
    sidecars = {c["name"]: c for c in spec["taskManager"]["podTemplate"]["spec"]["containers"]}
    pool = sidecars["beam-worker-pool"]
    assert pool["args"] == ["--worker_pool"]
    assert 50000 in {port["containerPort"] for port in pool["ports"]}
    driver = shlex.split(job["args"][1])
    assert driver[driver.index("--environment_config") + 1] == "localhost:50000"
    assert all(isinstance(v, str) for v in spec["flinkConfiguration"].values())  # map<string,string>
    for key in ("state.checkpoints.dir", "state.savepoints.dir", "high-availability.storageDir"):
        assert urlsplit(spec["flinkConfiguration"][key]).scheme in {"file", "s3", "gs", "hdfs"}


def pod_specs() -> list[tuple[str, dict]]:
    specs = [(name, doc["spec"]["template"]["spec"]) for name, doc in K8S
             if doc["kind"] == "Deployment"]
    for name, doc in K8S:
        if doc["kind"] == "FlinkDeployment":
            specs.append((name, doc["spec"]["podTemplate"]["spec"]))
            specs.append((name, doc["spec"]["taskManager"]["podTemplate"]["spec"]))
    return specs


def test_pods_mount_claims_and_config_maps_that_exist():
    claims = {pvc["metadata"]["name"] for pvc in of_kind("PersistentVolumeClaim")}
    config_maps = {cm["metadata"]["name"] for cm in of_kind("ConfigMap")}
    for name, spec in pod_specs():
        declared = {volume["name"] for volume in spec.get("volumes", [])}
        for volume in spec.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, name
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, name
        for container in spec["containers"]:
            for mount in container.get("volumeMounts", []):
                assert mount["name"] in declared, f"{name}: {container['name']} mounts {mount['name']}"


def test_reader_keeps_one_writer_on_its_store():
    (reader,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "newswire-reader"]
    assert reader["spec"]["replicas"] == 1
    assert reader["spec"]["strategy"]["type"] == "Recreate"
    (store,) = [p for p in of_kind("PersistentVolumeClaim")
                if p["metadata"]["name"] == "newswire-reader-store"]
    assert store["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_services_select_pods_that_exist():
    pod_labels = [doc["spec"]["template"]["metadata"]["labels"] for doc in of_kind("Deployment")]
    pod_labels += [doc["spec"]["taskManager"]["podTemplate"]["metadata"]["labels"]
                   for doc in of_kind("FlinkDeployment")]
    for service in of_kind("Service"):
        selector = service["spec"]["selector"].items()
        assert any(selector <= labels.items() for labels in pod_labels), service["metadata"]["name"]


# --- Docker Compose -------------------------------------------------------------------------

def test_compose_has_every_part():
    services = compose()["services"]
    assert {"kafka", "topics", "reader", "jobmanager", "taskmanager", "beam-worker-pool",
            "beam-job-server", "pipeline", "prometheus", "grafana"} <= set(services)


def test_compose_kafka_is_the_official_image_in_kraft_mode():
    services = compose()["services"]
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["CLUSTER_ID"] and "KAFKA_ZOOKEEPER_CONNECT" not in env
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    script = services["topics"]["command"][0]
    assert {name for name in TOPICS if f"--topic {name}" in script} == TOPICS


def test_compose_references_resolve():
    doc = compose()
    services = doc["services"]
    volumes = set(doc["volumes"])
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        network = service.get("network_mode", "")
        if network.startswith("service:"):
            assert network.split(":", 1)[1] in services
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (COMPOSE_DIR / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in volumes, f"{name} uses undeclared volume {source}"
        if "build" in service:
            context = COMPOSE_DIR / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file()


def test_compose_versions_agree_with_the_installed_beam():
    services = compose()["services"]
    job_server = services["beam-job-server"]["image"]
    match = re.fullmatch(r"apache/beam_flink(\d+\.\d+)_job_server:(.+)", job_server)
    assert match and match.group(2) == BEAM_VERSION
    assert services["jobmanager"]["image"].startswith(f"flink:{match.group(1)}.")
    assert services["taskmanager"]["image"] == services["jobmanager"]["image"]


def option_value(argv: list[str], flag: str) -> str:
    for i, arg in enumerate(argv):
        if arg == flag:
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"{flag} not in {argv}")


def test_prometheus_scrapes_the_ports_the_commands_serve_metrics_on():
    services = compose()["services"]
    config = yaml.safe_load((COMPOSE_DIR / "prometheus.yml").read_text("utf-8"))
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    commands = dict(compose_commands())
    reader_port = option_value(commands["compose reader"], "--metrics-port")
    assert targets["newswire-reader"] == [f"reader:{reader_port}"]
    pipeline_port = option_value(commands["compose pipeline"], "--metrics-port")
    # The SDK workers run in beam-worker-pool, inside the task manager's network namespace.
    assert services["beam-worker-pool"]["network_mode"] == "service:taskmanager"
    assert targets["newswire-pipeline"] == [f"taskmanager:{pipeline_port}"]
    for target in (t for ts in targets.values() for t in ts):
        assert target.split(":")[0] in {*services, "localhost"}


def test_grafana_provisioning_points_at_prometheus_and_the_dashboard():
    services = compose()["services"]
    datasources = yaml.safe_load(
        (COMPOSE_DIR / "grafana/provisioning/datasources/prometheus.yml").read_text("utf-8"))
    (source,) = datasources["datasources"]
    assert urlsplit(source["url"]).hostname == "prometheus" and source["type"] == "prometheus"
    providers = yaml.safe_load(
        (COMPOSE_DIR / "grafana/provisioning/dashboards/newswire.yml").read_text("utf-8"))
    path = providers["providers"][0]["options"]["path"]
    mounts = dict(m.split(":")[:2] for m in services["grafana"]["volumes"])
    assert mounts["../grafana/newswire-dashboard.json"].startswith(path + "/")


# --- newswire command lines -----------------------------------------------------------------

_SHELL_PARAM = re.compile(r"\$\{(\w+)(?::([+-])([^}]*))?\}|\$(\w+)")


def shell_words(text: str) -> list[str]:
    """Words of a shell command as the shell would see them with every variable set:
    ``${X:+WORD}`` → WORD, ``${X:-DEFAULT}`` → DEFAULT, ``$X``/``${X}`` → VALUE."""
    text = text.replace("$$", "$").replace("\\\n", " ")

    def substitute(match: re.Match) -> str:
        if match.group(2) in ("+", "-"):
            return match.group(3)
        return "VALUE"

    return shlex.split(_SHELL_PARAM.sub(substitute, text), comments=True)


def newswire_commands_in_text(text: str) -> list[list[str]]:
    """Every `newswire ...` command line in shell text (continuation lines joined)."""
    commands = []
    joined = text.replace("\\\n", " ")
    for line in joined.splitlines():
        words = line.strip()
        words = words.removeprefix("exec ")
        if words.startswith("newswire "):
            argv = shell_words(words)
            commands.append([arg for arg in argv if arg != '"$@"' and arg != "$@"])
    return commands


def compose_commands() -> list[tuple[str, list[str]]]:
    found = []
    for name, service in compose()["services"].items():
        entrypoint = service.get("entrypoint")
        if entrypoint == ["newswire"]:
            found.append((f"compose {name}", ["newswire", *service["command"]]))
        elif entrypoint and entrypoint[-1] == "-c" and "newswire" in service["command"][0]:
            (argv,) = newswire_commands_in_text(service["command"][0])
            found.append((f"compose {name}", argv))
    return found


def k8s_commands() -> list[tuple[str, list[str]]]:
    found = []
    for name, doc in K8S:
        if doc["kind"] == "Deployment":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if container.get("command") == ["newswire"]:
                    found.append((name, ["newswire", *container["args"]]))
        if doc["kind"] == "FlinkDeployment":
            found.append((f"{name} --driver-cmd", shell_words(doc["spec"]["job"]["args"][1])))
    return found


def text_commands() -> list[tuple[str, list[str]]]:
    found = []
    for path in sorted([*DEPLOY.rglob("*.sh"), *DEPLOY.rglob("*.md")]):
        text = path.read_text("utf-8")
        if path.suffix == ".md":  # only what is inside fenced code blocks
            text = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", text, re.DOTALL))
        found += [(f"{rel(path)}: {' '.join(argv[:2])}", argv)
                  for argv in newswire_commands_in_text(text)]
    return found


ALL_COMMANDS = compose_commands() + k8s_commands() + text_commands()


def beam_option_strings() -> set[str]:
    """Every option string Beam's PipelineOptions subclasses (newswire's included) know."""
    parser = _BeamArgumentParser(allow_abbrev=False)
    classes = {str(cls): cls for cls in PipelineOptions.__subclasses__()}
    for cls in classes.values():
        cls._add_argparse_args(parser)
    return set(parser._option_string_actions)


def test_the_deploy_files_run_the_reader_and_the_pipeline_everywhere():
    where = {(name.split()[0].split(":")[0], argv[1]) for name, argv in ALL_COMMANDS}
    for target in ("compose", "deploy/k8s/reader.yaml", "deploy/k8s/pipeline-flinkdeployment.yaml",
                   "deploy/dataflow/run.sh"):
        assert any(w == target for w, _ in where), f"no newswire command found in {target}"
    assert {sub for _, sub in where} >= {"ingest", "enrich", "tail"}


@pytest.mark.parametrize(("where", "argv"), ALL_COMMANDS, ids=[n for n, _ in ALL_COMMANDS])
def test_command_line_parses_with_the_real_cli(where, argv):
    assert argv[0] == "newswire"
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv[1:])
    except SystemExit:
        pytest.fail(
            f"{where}: `{shlex.join(argv)}` does not parse with pipeline.cli.build_parser() "
            f"(is `newswire {argv[1]}` registered in pipeline/cli.py COMMANDS, with every "
            "option used here?); argparse's message is above"
        )
    unknown_flags = sorted(arg.split("=", 1)[0] for arg in extra if arg.startswith("--"))
    if argv[1] == "enrich":  # Beam's own options pass through `newswire enrich`
        unknown_flags = sorted(set(unknown_flags) - beam_option_strings() - FLINK_JOB_SERVER_OPTIONS)
        assert not [arg for arg in extra if not arg.startswith("--")
                    and not _is_option_value(arg, extra)], f"{where}: stray words {extra}"
    else:
        assert not extra, f"{where}: `newswire {argv[1]}` does not take {extra}"
    assert not unknown_flags, (
        f"{where}: {unknown_flags} are options of neither `newswire {argv[1]}` nor Beam "
        f"{BEAM_VERSION}"
    )
    topics = {getattr(args, name, None) for name in
              ("topic", "input_topic", "output_topic", "dead_letter_topic")} - {None}
    assert topics <= TOPICS, f"{where}: topics {topics - TOPICS} are created nowhere"


def _is_option_value(word: str, extra: list[str]) -> bool:
    index = extra.index(word)
    return index > 0 and extra[index - 1].startswith("--") and "=" not in extra[index - 1]


# --- Dataflow Flex Template -----------------------------------------------------------------

def load_enrich_main():
    spec = importlib.util.spec_from_file_location("enrich_main", DEPLOY / "dataflow/enrich_main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flex_template_translates_parameter_names_to_newswire_options():
    enrich_main = load_enrich_main()
    assert enrich_main.enrich_argv([
        "--bootstrap_servers=k:9092", "--input_topic=news.raw", "--runner=DataflowRunner",
        "--sdk_container_image=img", "--streaming",
    ]) == [
        "enrich", "--bootstrap-servers=k:9092", "--input-topic=news.raw",
        "--runner=DataflowRunner", "--sdk_container_image=img", "--streaming",
    ]


def test_every_flex_template_parameter_is_a_newswire_enrich_option():
    enrich_main = load_enrich_main()
    ours = enrich_main.enrich_options()
    metadata = json.loads((DEPLOY / "dataflow/metadata.json").read_text("utf-8"))
    for parameter in metadata["parameters"]:
        flag = "--" + parameter["name"].replace("_", "-")
        assert flag in ours, f"metadata.json parameter {parameter['name']}: no {flag} option"
        for regex in parameter.get("regexes", []):
            re.compile(regex)


# --- Grafana dashboard ----------------------------------------------------------------------

def exposed_sample_names() -> set[str]:
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",),
                "histogram": ("_bucket", "_count", "_sum", "_created")}
    names = set()
    for family in metrics.REGISTRY.collect():
        if family.name.startswith("newswire_"):
            names |= {family.name + suffix for suffix in suffixes[family.type]}
    return names


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana/newswire-dashboard.json").read_text("utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_dashboard_metric_names_exist_in_pipeline_metrics():
    used = {name for expr in dashboard_exprs() for name in re.findall(r"newswire_\w+", expr)}
    assert used, "no newswire metric in the dashboard"
    assert used <= exposed_sample_names(), f"unknown metrics: {sorted(used - exposed_sample_names())}"


def test_dashboard_shows_every_metric_of_pipeline_metrics():
    used = " ".join(dashboard_exprs())
    families = {f.name for f in metrics.REGISTRY.collect()
                if f.name.startswith("newswire_") and f.name != "newswire_build_info"}
    assert {name for name in families if name not in used} == set()


def test_dashboard_panels_use_the_datasource_variable():
    dashboard = json.loads((DEPLOY / "grafana/newswire-dashboard.json").read_text("utf-8"))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


# --- Dockerfiles ----------------------------------------------------------------------------

DOCKERFILES = sorted([*DEPLOY.rglob("*Dockerfile")])


@pytest.mark.parametrize("path", DOCKERFILES, ids=rel)
def test_dockerfile_copies_what_exists_and_pins_beam(path):
    text = path.read_text("utf-8")
    for line in text.splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from=") for w in words):
            for source in words[1:-1]:
                if not source.startswith("--"):
                    assert (ROOT / source).exists(), f"{rel(path)}: COPY {source}: no such path"
    for image, version in re.findall(r"FROM (apache/beam_\w+):(\S+)", text):
        assert version == BEAM_VERSION, f"{rel(path)}: {image}:{version} is not Beam {BEAM_VERSION}"
    ignore = path.with_name(path.name + ".dockerignore")
    assert ignore.is_file(), f"{rel(path)}: no {ignore.name}: the whole checkout (.venv) would be sent"


def test_flink_image_python_matches_the_sdk_worker_image():
    worker = (DEPLOY / "docker/newswire.Dockerfile").read_text("utf-8")
    flink = (DEPLOY / "docker/flink.Dockerfile").read_text("utf-8")
    (worker_python,) = re.findall(r"FROM apache/beam_python(\d+\.\d+)_sdk", worker)
    assert f"uv python install {worker_python}" in flink
    assert "beam_flink1.20_job_server" in flink and "FROM flink:1.20." in flink


def test_deploy_readme_has_a_section_per_target_and_says_what_is_verified():
    readme = (DEPLOY / "README.md").read_text("utf-8")
    for heading in ("## Docker Compose", "## Kubernetes", "## Dataflow", "## What is verified"):
        assert heading in readme
    for topic in ("Prerequisites", "Bring it up", "Check it is healthy", "Scale", "Upgrade"):
        assert readme.count(f"### {topic}") >= 3, f"a '### {topic}' section per target"
