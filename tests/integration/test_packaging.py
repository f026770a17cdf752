"""Packaging and documentation stay true to the code.

No network, no container engine: the compose file, the Dockerfile and the docs
are parsed and compared with what the sources declare (CMake targets, the
Makefile's build lines, the shim's route table, the agent's exit codes) and
with what the built programs print for --help.

ERPSYNC_SOURCE_DIR: the repository (default: two levels above this file).
ERPSYNC_BUILD_DIR: the CMake build directory (default: <source>/build).
"""
import os
import pathlib
import re
import shlex
import subprocess

import pytest
import yaml

SRC = pathlib.Path(os.environ.get("ERPSYNC_SOURCE_DIR",
                                  pathlib.Path(__file__).resolve().parents[2]))
BUILD = pathlib.Path(os.environ.get("ERPSYNC_BUILD_DIR", SRC / "build"))

PROGRAMS = {  # binary -> its directory under the source and build trees
    "erpsync-agent": "agent",
    "erpsync-shim": "shim",
    "erpsync-devbroker": "devbroker",
    "erpsyncctl": "ctl",
}
# What the runtime image and `cmake --install` (component runtime) hold.
PRODUCTION = {"erpsync-agent", "erpsync-shim", "erpsyncctl"}
TEST_ONLY_DEB = {"kcat", "python3", "curl", "libcmocka-dev"}
RUNTIME_DEB = {"librdkafka1", "libcjson1", "libuuid1", "libmicrohttpd12",
               "libcrypt1"}
HELP_LINE = re.compile(
    r"^  (?P<name>[a-z][a-z0-9._-]*)\s+(?P<type>string|int|bool)\s+"
    r"default: (?P<default>.+?)(?: \[(?P<min>-?\d+)\.\.(?P<max>-?\d+)\])?$")


def read(rel):
    return (SRC / rel).read_text()


# ---- what the sources and binaries declare ----

def cmake_executables():
    """{binary: directory} from add_executable() in each CMakeLists.txt."""
    found = {}
    for cm in SRC.glob("*/CMakeLists.txt"):
        for name in re.findall(r"add_executable\(\s*([\w-]+)", cm.read_text()):
            found[name] = cm.parent.name
    return found


def help_settings(binary):
    """{name: (type, default, min, max)} as the built binary prints them."""
    path = BUILD / PROGRAMS[binary] / binary
    if not path.exists():
        pytest.fail(f"{path} is not built (set ERPSYNC_BUILD_DIR)")
    out = subprocess.run([str(path), "--help"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, f"{binary} --help exited {out.returncode}"
    settings = {}
    in_settings = False
    for line in out.stdout.splitlines():
        if line.startswith("Settings:"):
            in_settings = True
            continue
        m = HELP_LINE.match(line) if in_settings else None
        if m:
            settings[m["name"]] = (m["type"], m["default"], m["min"], m["max"])
    assert settings, f"{binary} --help printed no settings"
    return settings


@pytest.fixture(scope="module")
def helps():
    return {b: help_settings(b) for b in PROGRAMS}


def makefile():
    text = read("Makefile")
    variables = dict(re.findall(r"^(\w+)\s*\?=\s*(.*?)\s*$", text, re.M))
    recipes = [l.strip() for l in text.splitlines() if l.startswith("\t")]

    def expand(line):
        return re.sub(r"\$\((\w+)\)",
                      lambda m: m[0] if m[1] in ("CMAKE_ARGS", "JOBS")
                      else variables[m[1]], line)

    configure = [expand(l) for l in recipes if l.startswith("cmake -S")]
    build = [expand(l) for l in recipes if l.startswith("cmake --build")]
    assert len(configure) == 1 and len(build) == 1, recipes
    return variables, shlex.split(configure[0]), shlex.split(build[0])


def dockerfile():
    text = read("docker/Dockerfile")
    # Join continuation lines; drop comments.
    lines = []
    for raw in text.replace("\\\n", " ").splitlines():
        s = raw.strip()
        if s and not s.startswith("#"):
            lines.append(s)
    return lines


def docker_run_commands(lines):
    cmds = []
    for l in lines:
        if l.startswith("RUN "):
            cmds += [c.strip() for c in l[4:].split("&&")]
    return cmds


def packages(*uses):
    """The packages of packaging/debian-packages for uses, as the image and
    install-deps.sh get them (scripts/packages.sh)."""
    out = subprocess.run([str(SRC / "scripts/packages.sh"), *uses], check=True,
                         capture_output=True, text=True).stdout
    return set(out.split())


PACKAGES_CALL = re.compile(
    r"\$\(PACKAGES_FILE=/tmp/deps/debian-packages sh /tmp/deps/packages.sh "
    r"([a-z ]+)\)")


def apt_packages(cmd):
    """An apt-get install's packages. The list is packaging/debian-packages:
    the command may name them only through scripts/packages.sh."""
    calls = PACKAGES_CALL.findall(cmd)
    words = shlex.split(PACKAGES_CALL.sub("", cmd))
    i = words.index("install")
    literal = {w for w in words[i + 1:] if not w.startswith("-")}
    assert not literal, f"packages named outside packaging/debian-packages: {literal}"
    return packages(*" ".join(calls).split())


def install_deps_packages():
    text = read("scripts/install-deps.sh")
    assert 'DEB_PKGS=$("$(dirname "$0")/packages.sh" build test)' in text
    return packages("build", "test")


def compose():
    return yaml.safe_load(read("docker/compose.yaml"))


def flags(command):
    """--name=value flags of a command list as {name: value}."""
    out = {}
    for arg in command[1:]:
        m = re.match(r"--([a-z][a-z0-9._-]*)=(.*)$", arg)
        assert m, f"not a --name=value setting: {arg!r}"
        out[m[1]] = m[2]
    return out


# ---- compose ----

def test_compose_services_run_binaries_cmake_builds(helps):
    services = compose()["services"]
    assert {"kafka", "topic-init", "agent", "shim"} <= set(services)
    exes = cmake_executables()
    for name in ("agent", "shim"):
        cmd = services[name]["command"]
        binary = cmd[0]
        assert binary == f"erpsync-{name}"
        assert binary in exes, f"{binary} is not an add_executable() target"
        unknown = set(flags(cmd)) - set(helps[binary])
        assert not unknown, f"{name}: settings not in {binary} --help: {unknown}"
        build = services[name]["build"]
        context = (SRC / "docker" / build["context"]).resolve()
        assert (context / build["dockerfile"]).is_file()
        assert services[name]["depends_on"]["topic-init"]["condition"] == \
            "service_completed_successfully"


def test_compose_agent_and_shim_settings_fit_together(helps):
    services = compose()["services"]
    agent = flags(services["agent"]["command"])
    shim = flags(services["shim"]["command"])
    assert agent["engine.id"] == "demo"
    assert agent["bootstrap.servers"] == shim["bootstrap.servers"] == "kafka:9092"
    env = services["kafka"]["environment"]
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    # The Kafka the tests run on (tests/kafka/pom.xml), not another one.
    assert services["kafka"]["image"] == f"apache/kafka:{pom_kafka_version()}"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    # One broker: transactions need a one-replica transaction log.
    assert str(env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"]) == "1"
    assert str(env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"]) == "1"
    # The agent's state directory is the named volume.
    targets = [v.split(":")[1] for v in services["agent"]["volumes"]]
    assert agent["state.dir"] in targets
    # The shim listens on every interface, on the published port.
    assert shim["listen.address"] == "0.0.0.0"
    published = [str(p).rsplit(":", 1)[-1] for p in services["shim"]["ports"]]
    assert shim["listen.port"] in published
    mounts = [v for v in services["shim"]["volumes"] if isinstance(v, dict)]
    assert any(m["target"] == shim["users.file"] and m["source"] == "./users"
               for m in mounts)
    health = " ".join(services["shim"]["healthcheck"]["test"])
    assert "/readyz" in health and f"/{shim['listen.port']}" in health


def test_compose_creates_the_topics_with_their_cleanup_policies(helps):
    agent = helps["erpsync-agent"]
    topics = {agent[f"topic.{k}"][1]: k for k in ("commands", "status", "audit", "dlq")}
    script = " ".join(compose()["services"]["topic-init"]["command"])
    assert "/opt/kafka/bin/kafka-topics.sh" in script
    policy = {}
    for part in script.split("kafka-topics.sh")[1:]:
        if "--create" not in part:
            continue
        topic = re.search(r"--topic\s+(\S+)", part)[1]
        policy[topic] = re.search(r"cleanup\.policy=(\w+)", part)[1]
    assert set(policy) == set(topics), policy
    for topic, kind in topics.items():
        assert policy[topic] == ("compact" if kind == "status" else "delete"), topic


# ---- Dockerfile ----

def pom_kafka_version():
    return re.search(r"<kafka.version>([^<]+)</kafka.version>",
                     read("tests/kafka/pom.xml"))[1]


def test_dockerfile_builds_like_the_makefile():
    # The image is `make build BUILD_TYPE=Release`: same words otherwise.
    variables, mk_configure, mk_build = makefile()
    variables = dict(variables, BUILD_TYPE="Release")
    mk_configure = [w.replace("-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                              "-DCMAKE_BUILD_TYPE=Release") for w in mk_configure]
    cmds = docker_run_commands(dockerfile())
    configure = [shlex.split(c) for c in cmds if c.startswith("cmake -S")]
    build = [shlex.split(c) for c in cmds if c.startswith("cmake --build")]
    assert len(configure) == 1 and len(build) == 1, cmds
    # The Makefile's words, less $(CMAKE_ARGS); extra -D words are CMAKE_ARGS.
    want = [w for w in mk_configure if w != "$(CMAKE_ARGS)"]
    got = configure[0]
    assert got[:len(want)] == want, (got, want)
    assert all(w.startswith("-D") for w in got[len(want):]), got
    assert f"-DCMAKE_BUILD_TYPE={variables['BUILD_TYPE']}" in got

    def without_jobs(words):
        out, skip = [], False
        for w in words:
            if skip:
                skip = False
            elif w == "-j":
                skip = True
            elif not w.startswith("-j"):
                out.append(w)
        return out

    assert without_jobs(build[0]) == without_jobs(mk_build), (build, mk_build)


def test_dockerfile_stages_packages_and_user():
    lines = dockerfile()
    froms = [l.split()[1] for l in lines if l.startswith("FROM ")]
    assert len(froms) >= 2 and all(f.startswith("debian:12") for f in froms), froms
    installs = [apt_packages(c) for c in docker_run_commands(lines)
                if "apt-get" in c and " install " in c]
    assert len(installs) == 2, installs
    build_pkgs, runtime_pkgs = installs
    missing = install_deps_packages() - TEST_ONLY_DEB - build_pkgs
    assert not missing, f"build stage lacks {missing}"
    assert RUNTIME_DEB <= runtime_pkgs
    assert not {p for p in runtime_pkgs if p.endswith("-dev")}, runtime_pkgs
    users = [l.split()[1] for l in lines if l.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), users
    assert not any(l.startswith("ENTRYPOINT") for l in lines)


def test_dockerfile_copies_sources_and_the_production_binaries_stripped():
    lines = dockerfile()
    root = read("CMakeLists.txt")
    subdirs = set(re.findall(r"add_subdirectory\((\w+)\)", root)) - {"tests"}
    copied = set()
    for l in lines:
        if l.startswith("COPY ") and "--from" not in l:
            copied |= set(l.split()[1:-1])
    # Everything the build reads: the libraries, the man page generator,
    # the units and examples, the license.
    assert subdirs | {"scripts", "packaging", "LICENSE"} <= copied, \
        f"not copied into the build stage: {subdirs - copied}"
    cmds = docker_run_commands(lines)
    install = [c for c in cmds if c.startswith("cmake --install")]
    assert len(install) == 1, cmds
    words = shlex.split(install[0])
    assert "--strip" in words
    assert words[words.index("--component") + 1] == "runtime"
    prefix = words[words.index("--prefix") + 1]
    # The runtime stage takes the installed bin/ only: no devbroker there.
    froms = [l for l in lines if l.startswith("COPY --from=build")]
    assert f"COPY --from=build {prefix}/bin/ /usr/local/bin/" in froms, froms
    assert not any("devbroker" in l for l in froms), froms


def test_dockerfile_pins_its_base_and_has_a_healthcheck():
    lines = dockerfile()
    froms = [l.split()[1] for l in lines if l.startswith("FROM ")]
    for f in froms:
        assert re.fullmatch(r"debian:12[\w.-]*@sha256:[0-9a-f]{64}", f), f
    checks = [l for l in lines if l.startswith("HEALTHCHECK ")]
    assert len(checks) == 1, checks
    script = re.search(r'CMD \["([\w-]+)"\]', checks[0])[1]
    assert f"COPY packaging/docker-healthcheck.sh /usr/local/bin/{script}" in lines
    text = read("packaging/docker-healthcheck.sh")
    assert "/readyz" in text and "--listen.port=" in text


def test_compose_keeps_kafka_data_restarts_and_checks_health():
    doc = compose()
    services = doc["services"]
    kafka = services["kafka"]
    data = kafka["environment"]["KAFKA_LOG_DIRS"]
    assert any(v.split(":")[0] in doc["volumes"] and v.split(":")[1] == data
               for v in kafka["volumes"]), kafka["volumes"]
    for name in ("kafka", "agent", "shim"):
        assert services[name]["restart"] not in (None, "no"), name
        assert services[name]["healthcheck"]["test"], name
    assert services["topic-init"]["restart"] == "no"
    # The agent gets its own stop limit before compose's SIGKILL.
    agent_help = help_settings("erpsync-agent")
    limit_s = int(agent_help["shutdown.timeout.ms"][1]) / 1000
    grace = services["agent"]["stop_grace_period"]
    assert int(grace.rstrip("s")) > limit_s, grace


# ---- OpenAPI and AsyncAPI ----

def shim_routes():
    base = re.search(r'#define ERPS_API_BASE "([^"]+)"', read("shim/api.h"))[1]
    # The method table's rows: {"Name", ERPS_ROUTE_X, "METHOD", ...}.
    table = re.findall(r'\{"([^"]+)",\s*ERPS_ROUTE_\w+,\s*"(\w+)",',
                       read("shim/api.c"))
    assert len(table) >= 6, table
    return {(name if name.startswith("/") else base + name): method.lower()
            for name, method in table}


EXPECTED_CODES = {
    "ChangeEngineStatus": {"200", "400", "401", "403", "405", "413", "415", "503", "504"},
    "ChangeEngineInterval": {"204", "400", "401", "403", "405", "413", "415", "503", "504"},
    "GetEngineStatus": {"200", "401", "405", "503"},
    "/healthz": {"200", "405"},
    "/readyz": {"200", "405", "503"},
    "/metrics": {"200", "405"},
}


def test_openapi_covers_every_route_and_answer():
    doc = yaml.safe_load(read("docs/openapi.yaml"))
    assert re.fullmatch(r"3\.1\.\d+", str(doc["openapi"])), doc["openapi"]
    responses = doc["components"]["responses"]
    for path, method in shim_routes().items():
        assert path in doc["paths"], f"route {path} missing from openapi.yaml"
        op = doc["paths"][path].get(method)
        assert op, f"{method.upper()} {path} missing"
        key = path.rsplit("/", 1)[-1] if path.startswith("/api/") else path
        codes = set(op["responses"])
        assert EXPECTED_CODES[key] <= codes, (path, EXPECTED_CODES[key] - codes)
        for code, resp in op["responses"].items():
            if "$ref" in resp:
                resp = responses[resp["$ref"].rsplit("/", 1)[-1]]
            if code == "401":
                assert "WWW-Authenticate" in resp["headers"], path
            if code == "405":
                allow = resp["headers"]["Allow"]
                if "$ref" in allow:
                    allow = doc["components"]["headers"][allow["$ref"].rsplit("/", 1)[-1]]
                allow = allow["schema"]["const"]
                assert allow.lower() == method, (path, allow)
    assert "NotFound" in responses
    # Answers to a change that sent its command name it in a header.
    header = re.search(r'#define ERPS_HEADER_COMMAND_ID\s+"([^"]+)"',
                       read("shim/server_int.h"))
    assert header, "ERPS_HEADER_COMMAND_ID not in shim/server_int.h"
    for path, op in doc["paths"].items():
        if path.endswith(("/ChangeEngineStatus", "/ChangeEngineInterval")):
            for code in ("200", "204", "503", "504"):
                resp = op["post"]["responses"].get(code)
                if resp is None:
                    continue
                if "$ref" in resp:
                    resp = responses[resp["$ref"].rsplit("/", 1)[-1]]
                assert header[1] in resp.get("headers", {}), (path, code)
    status = doc["components"]["schemas"]["ErpSyncEngineStatus"]
    assert set(status["required"]) == set(status["properties"]) == {
        "IsRunning", "StatusMessage", "Interval", "TableRight", "FieldProperties"}
    assert doc["components"]["securitySchemes"]["basicAuth"]["scheme"] == "basic"


def test_openapi_is_a_valid_openapi_document():
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(yaml.safe_load(read("docs/openapi.yaml")))


def test_openapi_error_types_are_the_shims():
    doc = yaml.safe_load(read("docs/openapi.yaml"))
    api = read("shim/api.c")
    known = dict((c, t) for c, t in re.findall(r'\{(\d{3}), "(\w+)"\}', api))
    enum = set(doc["components"]["schemas"]["Error"]["properties"]["ErrorType"]["enum"])
    assert enum <= set(known.values()) | {"InternalServerError"}, enum
    # Every error status the shim's code can answer: given to send_error
    # directly, or returned by a check whose code send_error passes on.
    sent = set()
    for src in (SRC / "shim").rglob("*.c"):
        text = src.read_text()
        sent |= set(re.findall(r"send_error\(\w+, (\d{3}),", text))
        sent |= set(re.findall(r"return ([45]\d\d);", text))
    assert {"400", "401", "403", "406", "413", "414", "415", "429", "431"} <= sent, sent
    for code in sent:
        assert known.get(code, "InternalServerError") in enum, code


def test_asyncapi_describes_the_topics_and_the_proto_schemas(helps):
    import json
    doc = yaml.safe_load(read("docs/asyncapi.yaml"))
    assert str(doc["asyncapi"]) == "2.6.0"
    agent = helps["erpsync-agent"]
    for kind in ("commands", "status", "audit", "dlq"):
        topic = agent[f"topic.{kind}"][1]
        channel = doc["channels"].get(topic)
        assert channel, f"topic {topic} missing from asyncapi.yaml"
        policy = channel["bindings"]["kafka"]["topicConfiguration"]["cleanup.policy"]
        assert policy == (["compact"] if kind == "status" else ["delete"]), topic
    messages = doc["components"]["messages"]
    # Dead-letter headers as apply.c writes them.
    dlq_headers = set(re.findall(r'"(erpsync_\w+)"', read("agent/apply.c")))
    assert dlq_headers and dlq_headers <= set(messages["DeadLetter"]["headers"]["properties"])
    # Payload copies keep the normative data schemas' required fields.
    schemas = doc["components"]["schemas"]
    for msg in messages.values():
        ref = msg.get("x-erpsync-schema")
        if not ref:
            continue
        proto = json.loads((SRC / "docs" / ref).resolve().read_text())
        payload = schemas[msg["payload"]["$ref"].rsplit("/", 1)[-1]]
        data = proto["properties"].get("data")
        if data is None:  # commands: one data schema per type
            data = next(v["properties"]["data"] for v in proto["oneOf"]
                        if v["properties"]["type"]["const"] ==
                        msg["headers"]["allOf"][-1]["properties"]["ce_type"]["const"])
        assert set(payload["required"]) == set(data["required"]), msg["name"]
        assert set(payload["properties"]) == set(data["properties"]), msg["name"]
    headers = schemas["CeHeaders"]["properties"]
    for h in ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time",
              "ce_subject", "content-type", "ce_dataschema"):
        assert h in headers, h


# ---- configuration.md and operations.md ----

SECTIONS = {"erpsync-agent": "## erpsync-agent", "erpsync-shim": "## erpsync-shim",
            "erpsync-devbroker": "## erpsync-devbroker", "erpsyncctl": "## erpsyncctl"}


def doc_section(text, heading):
    start = text.index(heading + "\n")
    nxt = text.find("\n## ", start + len(heading))
    return text[start:nxt if nxt >= 0 else len(text)]


def test_configuration_md_lists_every_setting_as_help_prints_it(helps):
    text = read("docs/configuration.md")
    for binary, settings in helps.items():
        section = doc_section(text, SECTIONS[binary])
        for name, (typ, default, lo, hi) in settings.items():
            assert f"`{name}`" in text, f"{binary} setting {name} not documented"
            row = re.search(rf"^\| `{re.escape(name)}` \|(.*)$", section, re.M)
            assert row, f"{binary}: no table row for {name}"
            cells = [c.strip() for c in row[1].split("|")]
            assert cells[0] == typ, (binary, name, cells[0], typ)
            assert cells[1].strip("`") == default, (binary, name, cells[1], default)
            if lo is not None:
                assert f"{lo}..{hi}" in cells[2], (binary, name, cells[2])


def test_configuration_md_lists_the_agent_exit_codes():
    text = read("docs/configuration.md")
    codes = re.findall(r"(ERPS_AGENT_EXIT_\w+) = (\d+)", read("agent/agent.h"))
    assert codes
    for name, value in codes:
        assert re.search(rf"^\| {value} \| `{name}` \|", text, re.M), name


def test_operations_md_names_every_metric():
    # A name in a format string, or a metric() call's name argument.
    metrics = set(re.findall(r"\b(erpsync_shim_\w+?)(?:\{|\s|\\n| %|\")",
                             read("shim/answer.c")))
    assert len(metrics) >= 9, metrics
    ops = read("docs/operations.md")
    api = read("docs/openapi.yaml")
    for m in metrics:
        assert m in ops, f"metric {m} missing from operations.md"
        assert m in api, f"metric {m} missing from openapi.yaml"


def test_docs_readme_links_resolve():
    text = read("docs/README.md")
    links = re.findall(r"\]\(([^)#]+)", text)
    assert links
    for link in links:
        assert (SRC / "docs" / link).exists(), link


# ---- the flags every program shares (issue 14, item 4) ----

def built(binary):
    path = BUILD / PROGRAMS[binary] / binary
    if not path.exists():
        pytest.fail(f"{path} is not built (set ERPSYNC_BUILD_DIR)")
    return str(path)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=30, **kw)


def cmake_version():
    return re.search(r"project\(erpsync VERSION (\d+\.\d+\.\d+)",
                     read("CMakeLists.txt"))[1]


# Enough for each program's own checks to pass.
CHECK_ARGS = {
    "erpsync-agent": ["--engine.id=demo"],
    "erpsync-shim": ["--users.file=/dev/null", "--tenants.file=/dev/null"],
    "erpsync-devbroker": [],
    "erpsyncctl": [],
}


@pytest.mark.parametrize("binary", sorted(PROGRAMS))
def test_version_is_the_cmake_project_version(binary):
    # Used to fail with "--version needs a value".
    r = run([built(binary), "--version"])
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{binary} {cmake_version()}\n"
    # Even next to a broken setting: the version is printed first.
    r = run([built(binary), "--log.level=nonsense", "--version"])
    assert r.returncode == 0 and cmake_version() in r.stdout


@pytest.mark.parametrize("binary", sorted(PROGRAMS))
def test_unknown_flag_says_unknown_setting(binary):
    # Used to say "--nosuch needs a value".
    r = run([built(binary), "--nosuch"])
    assert r.returncode != 0
    assert 'unknown setting "nosuch"' in r.stderr, r.stderr
    assert "needs a value" not in r.stderr


@pytest.mark.parametrize("binary", sorted(PROGRAMS))
def test_check_validates_and_exits(binary, tmp_path):
    # A valid configuration: exit 0 at once, nothing started (no broker is
    # given, so a program that went on would not exit within the timeout).
    r = run([built(binary), "--check"] + CHECK_ARGS[binary])
    assert r.returncode == 0, r.stderr
    assert "configuration is valid" in r.stdout
    # A bad value in a file is the same error as without --check.
    conf = tmp_path / "bad.conf"
    conf.write_text("log.level = chatty\n")
    r = run([built(binary), "--check", "-c", str(conf)] + CHECK_ARGS[binary])
    assert r.returncode != 0 and "log.level" in r.stderr, r.stderr
    assert "valid" not in r.stdout


# ---- cmake --install, man pages, systemd units, examples, license ----

def install(tmp_path, *extra):
    r = subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(tmp_path),
                        *extra], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}


def test_install_keeps_the_devbroker_out_of_the_production_programs(tmp_path):
    files = install(tmp_path / "prod")
    assert {f"bin/{b}" for b in PRODUCTION} == {f for f in files if f.startswith("bin/")}
    assert not [f for f in files if "devbroker" in f], files
    for f in ("lib/systemd/system/erpsync-agent@.service",
              "lib/systemd/system/erpsync-shim.service",
              "lib/sysusers.d/erpsync.conf", "share/doc/erpsync/LICENSE",
              "share/doc/erpsync/examples/agent.conf",
              "share/doc/erpsync/examples/shim.conf",
              "share/doc/erpsync/examples/erpsyncctl.conf"):
        assert f in files, f
    assert {f"share/man/man1/{b}.1" for b in PRODUCTION} <= files
    # The dev component, asked for by name: under libexec, not bin.
    dev = install(tmp_path / "dev", "--component", "dev")
    assert dev == {"libexec/erpsync/erpsync-devbroker",
                   "share/man/man1/erpsync-devbroker.1"}, dev


@pytest.mark.parametrize("binary", sorted(PROGRAMS))
def test_man_page_lists_every_setting_from_the_table(binary):
    page = (BUILD / "man" / f"{binary}.1").read_text()
    assert page.startswith(f'.TH {binary.upper()} 1 "" "erpsync {cmake_version()}"')
    for name, (typ, default, lo, hi) in help_settings(binary).items():
        m = re.search(rf'^\.BR {re.escape(name)} " \({typ}, default: (.*)\)"$',
                      page, re.M)
        assert m, f"{binary}.1 lacks {name}"
        assert m[1].startswith(default.replace("\\", "\\e")), (name, m[1])
        if lo is not None:
            assert f"[{lo}..{hi}]" in m[1], name
    # What man renders, when man is there.
    if subprocess.run(["sh", "-c", "command -v man"], capture_output=True).returncode == 0:
        r = run(["man", "-l", "-P", "cat", str(BUILD / "man" / f"{binary}.1")],
                env=dict(os.environ, MANWIDTH="100"))
        assert r.returncode == 0 and "SETTINGS" in r.stdout, r.stderr


def unit(name):
    """A systemd unit as {key: [values]} (sections merged: keys are unique)."""
    text = (BUILD / "systemd" / name).read_text()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", "[")):
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
             "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
             "RestrictSUIDSGID": "yes", "CapabilityBoundingSet": "",
             "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes"}


@pytest.mark.parametrize("name,binary", [("erpsync-agent@.service", "erpsync-agent"),
                                         ("erpsync-shim.service", "erpsync-shim")])
def test_systemd_units_are_hardened_and_check_their_config(name, binary):
    u = unit(name)
    for k, v in HARDENING.items():
        assert u.get(k) == [v], (name, k, u.get(k))
    assert u["User"] == ["erpsync"]
    prefix = re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$",
                       (BUILD / "CMakeCache.txt").read_text(), re.M)[1]
    start = shlex.split(u["ExecStart"][0])
    assert start[0] == f"{prefix}/bin/{binary}"
    # The config is checked before each start, with the same arguments.
    assert shlex.split(u["ExecStartPre"][0]) == start + ["--check"]
    codes = dict(re.findall(r"(ERPS_AGENT_EXIT_\w+) = (\d+)", read("agent/agent.h")))
    prevent = u["RestartPreventExitStatus"][0].split()
    if binary == "erpsync-agent":
        assert u["Restart"] == ["on-failure"]
        assert {codes["ERPS_AGENT_EXIT_CONFIG"], codes["ERPS_AGENT_EXIT_FENCED"]} <= set(prevent)
        assert codes["ERPS_AGENT_EXIT_FATAL"] not in prevent
        limit = int(help_settings(binary)["shutdown.timeout.ms"][1]) // 1000
        assert int(u["TimeoutStopSec"][0]) > limit
        assert u["StateDirectory"] == ["erpsync/%i"]
        assert "--engine.id=%i" in start
    else:
        assert "2" in prevent


@pytest.mark.parametrize("example,binary", [("agent.conf", "erpsync-agent"),
                                            ("shim.conf", "erpsync-shim"),
                                            ("erpsyncctl.conf", "erpsyncctl")])
def test_example_configs_pass_check(example, binary):
    path = SRC / "packaging" / "examples" / example
    r = run([built(binary), "-c", str(path), "--check"] + CHECK_ARGS[binary])
    assert r.returncode == 0, r.stderr
    assert "configuration is valid" in r.stdout


def test_license_is_osi_and_the_api_documents_say_so():
    first = read("LICENSE").splitlines()[0]
    assert first == "MIT License"
    openapi = yaml.safe_load(read("docs/openapi.yaml"))["info"]["license"]
    asyncapi = yaml.safe_load(read("docs/asyncapi.yaml"))["info"]["license"]
    assert openapi["identifier"] == "MIT" and openapi["name"] == "MIT"
    assert asyncapi["name"] == "MIT" and asyncapi["url"].endswith("/MIT")


@pytest.mark.parametrize("binary", sorted(PRODUCTION))
def test_check_asks_librdkafka_about_pass_through_properties(binary, tmp_path):
    # A start fails on these when it creates its client; --check opens no
    # client, so it must ask librdkafka itself.
    r = run([built(binary), "--check", "-X", "no.such.property=1"] + CHECK_ARGS[binary])
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "no.such.property" in r.stderr and "valid" not in r.stdout
    conf = tmp_path / "k.conf"
    conf.write_text("kafka.security.protocol = carrier-pigeon\n")
    r = run([built(binary), "--check", "-c", str(conf)] + CHECK_ARGS[binary])
    assert r.returncode == 2 and "security.protocol" in r.stderr, r.stderr
    r = run([built(binary), "--check", "-X", "security.protocol=SASL_SSL",
             "-X", "sasl.mechanisms=SCRAM-SHA-512"] + CHECK_ARGS[binary])
    assert r.returncode == 0, r.stderr
