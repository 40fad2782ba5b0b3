#!/usr/bin/env python3
"""Checks the deployment files in deploy/ for what a cluster needs, without a cluster engine.

  deploy_check.py [--greyd PATH]

- Kubernetes (deploy/kubernetes/*.yaml): a headless Service for peers, a client Service, a
  PodDisruptionBudget, and a StatefulSet whose image is never pulled (built locally), whose
  pods spread over machines, have resources, a readiness probe on /health and a liveness
  probe that is not /health (a node without a leader must not be restarted for it). Its start
  script is run for ordinals 0..4 with a stand-in greyd: founders get --peers naming the other
  founders, later ordinals --join.
- docker-compose: every Grey service has a health check, its own node id, and peers that are
  exactly the other services' advertised addresses; HAProxy mounts deploy/haproxy.
- .dockerignore keeps .build out of the build context.
- With --greyd: every GREY_* setting the files use is one greyd documents in its --help.
"""
import os
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
    return condition


def kubernetes():
    path = os.path.join(ROOT, "deploy", "kubernetes", "grey-statefulset.yaml")
    documents = [d for d in yaml.safe_load_all(open(path)) if d]
    by_kind = {}
    for d in documents:
        by_kind.setdefault(d["kind"], []).append(d)
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    check(services.get("grey", {}).get("spec", {}).get("clusterIP") == "None", "k8s: a headless Service 'grey' for peers")
    check("grey-client" in services and services["grey-client"]["spec"].get("clusterIP") != "None", "k8s: a client Service")
    check(bool(by_kind.get("PodDisruptionBudget")), "k8s: a PodDisruptionBudget")
    sets = by_kind.get("StatefulSet", [])
    if not check(len(sets) == 1, "k8s: one StatefulSet"):
        return set()
    pod = sets[0]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    check(container.get("imagePullPolicy") in ("IfNotPresent", "Never"), "k8s: a local image is not pulled (imagePullPolicy)")
    check("podAntiAffinity" in pod.get("affinity", {}), "k8s: members spread over machines (podAntiAffinity)")
    check(bool(container.get("resources", {}).get("requests")), "k8s: resource requests")
    check(container.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/health", "k8s: readiness on /health")
    liveness = container.get("livenessProbe", {})
    check(bool(liveness) and liveness.get("httpGet", {}).get("path") != "/health", "k8s: a liveness probe, not /health")
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    script = container["args"][0]
    with tempfile.TemporaryDirectory() as bin_dir:
        fake = os.path.join(bin_dir, "greyd")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\necho "$@"\n')
        os.chmod(fake, 0o755)
        founders = int(env.get("FOUNDERS", "0"))
        check(founders == sets[0]["spec"]["replicas"], "k8s: FOUNDERS equals the initial replicas")
        for ordinal in range(5):
            environment = dict(os.environ, PATH=bin_dir + ":" + os.environ["PATH"], HOSTNAME=f"grey-{ordinal}", **{k: v for k, v in env.items() if v})
            out = subprocess.run(container["command"] + [script], env=environment, capture_output=True, text=True).stdout.split()
            check(out[:2] == ["--node-id", str(ordinal)] and f"grey-{ordinal}.grey:5000" in out, f"k8s: pod {ordinal} starts as node {ordinal} at its own name: {out}")
            if ordinal < founders:
                peers = out[out.index("--peers") + 1].split(",") if "--peers" in out else []
                expected = [f"grey-{n}.grey:5000" for n in range(founders) if n != ordinal]
                check(peers == expected, f"k8s: founder {ordinal} names the other founders: {peers}")
            else:
                check(out[-2:] == ["--join", "grey-0.grey:5000"], f"k8s: pod {ordinal} joins: {out}")
    return set(env) | set(re.findall(r"GREY_[A-Z_]+", script))


def compose():
    path = os.path.join(ROOT, "deploy", "docker-compose.yml")
    document = yaml.safe_load(open(path))
    services = document["services"]
    grey = {name: s for name, s in services.items() if "GREY_NODE_ID" in (s.get("environment") or {})}
    check(len(grey) >= 3, "compose: three Grey services")
    advertised = {name: s["environment"]["GREY_ADVERTISE_ADDR"] for name, s in grey.items()}
    ids = [s["environment"]["GREY_NODE_ID"] for s in grey.values()]
    check(len(set(ids)) == len(ids), "compose: every node its own id")
    names = set()
    for name, service in grey.items():
        check("healthcheck" in service, f"compose: {name} has a health check")
        peers = set(service["environment"]["GREY_CLUSTER_PEERS"].split(","))
        check(peers == {a for n, a in advertised.items() if n != name}, f"compose: {name}'s peers are the others' addresses")
        names |= set(service["environment"])
    haproxy = services.get("haproxy", {})
    check(any("haproxy/haproxy.cfg" in v for v in haproxy.get("volumes", [])), "compose: HAProxy with deploy/haproxy/haproxy.cfg")
    return names


def dockerignore():
    lines = open(os.path.join(ROOT, ".dockerignore")).read().split()
    check(".build" in lines, ".dockerignore: .build")


def main():
    used = kubernetes() | compose()
    dockerignore()
    if "--greyd" in sys.argv:
        greyd = sys.argv[sys.argv.index("--greyd") + 1]
        documented = subprocess.run([greyd, "--help"], capture_output=True, text=True).stdout
        for name in sorted(n for n in used if n.startswith("GREY_")):
            check(name in documented, f"greyd documents {name}")
    for failure in failures:
        print("FAIL", failure)
    print(f"deploy: {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
