"""`make bench` (run through scripts/bench.sh, which builds what this needs): konoha against
Terraform's floor, side by side in one run, and against `kubectl apply --server-side`.

Timed runs use the provider binary as it is. One extra, instrumented cycle per size runs it
under /usr/bin/time (CPU time and peak RSS per process) with TF_LOG_PROVIDER=debug, whose
"rpc finished" lines give each RPC's own time, and counts Vault requests in OpenBao's audit log.
Nothing here passes or fails on a number; the figures go to docs/PERFORMANCE.md.
"""

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import go_profile  # noqa: E402
import plain_client  # noqa: E402
import report  # noqa: E402

IMAGE = "apache/kyuubi:1.10.2-spark"
ENGINE_IMAGE = "apache/spark:3.5.3"
CONCURRENCY = 10  # Terraform's default -parallelism
RPC_LINE = re.compile(r"rpc finished")
RPC_NAME = re.compile(r"rpc=/tfplugin5\.Provider/(\w+)")
RPC_DURATION = re.compile(r"duration_us=(\d+)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary(samples):
    return {
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "runs": len(samples),
    }


def hcl_literal(value):
    """A JSON value as an HCL expression: HCL's object syntax takes JSON's `:` and its string
    escapes, so only template sequences need escaping."""
    return json.dumps(value, sort_keys=True).replace("${", "$${").replace("%{", "%%{")


def state_attributes(folder):
    """Each resource's attributes in the folder's state, by resource name."""
    state = json.loads((folder / "terraform.tfstate").read_text())
    return {r["name"]: r["instances"][0]["attributes"] for r in state["resources"] if r["instances"]}


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


class Bench:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.env = dict(os.environ, CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1", TF_INPUT="0")
        for key in ("TF_LOG", "TF_LOG_PATH", "TF_LOG_PROVIDER", "TF_LOG_CORE"):
            self.env.pop(key, None)
        self.proc_log = work / "processes.txt"
        self.carried = {}  # N → the konoha state (name → attributes) of that size's last cycle
        # perf, when present, profiles Terraform's own CPU; it needs the real binary's path.
        terraform = shutil.which("terraform")
        self.perf = (
            os.path.realpath(terraform) if terraform and shutil.which("perf") and not args.no_perf else None
        )
        self.tf_log = work / "terraform.log"
        # Two ways to start the provider: as it is, and under /usr/bin/time.
        plain, timed = work / "plugins-plain", work / "plugins-timed"
        plain.mkdir()
        timed.mkdir()
        (plain / "terraform-provider-konoha").symlink_to(args.binary)
        wrapper = timed / "terraform-provider-konoha"
        wrapper.write_text(
            "#!/bin/sh\n"
            f'exec /usr/bin/time -a -o "{self.proc_log}" -f "%e %U %S %M" "{args.binary}" "$@"\n'
        )
        wrapper.chmod(0o755)
        self.tfrc = {}
        for name, folder in (("plain", plain), ("timed", timed)):
            rc = work / f"{name}.tfrc"
            rc.write_text(
                'provider_installation {\n  dev_overrides {\n'
                f'    "registry.terraform.io/konoha/konoha" = "{folder}"\n  }}\n  direct {{}}\n}}\n'
            )
            self.tfrc[name] = str(rc)

    # ---- running commands -------------------------------------------------------------------

    def terraform(self, folder, *args, instrumented=False, codes=(0,), cpu=None):
        """Wall seconds of one command. With `cpu` (a dict), also the CPU seconds of Terraform
        and every process it waited for (its providers), under /usr/bin/time."""
        env = dict(self.env, TF_CLI_CONFIG_FILE=self.tfrc["timed" if instrumented else "plain"])
        if instrumented:
            env.update(TF_LOG_PROVIDER="DEBUG", TF_LOG_PATH=str(self.tf_log))
        command = ["terraform", *args]
        usage = self.work / "terraform-time.txt"
        if cpu is not None:
            command = ["/usr/bin/time", "-o", str(usage), "-f", "%U %S %M", *command]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if cpu is not None and done.returncode in codes:
            user, system, rss_kib = usage.read_text().split()[-3:]
            cpu.update(seconds=float(user) + float(system), rss_kib=int(rss_kib))
        if done.returncode not in codes:
            raise RuntimeError(
                f"terraform {' '.join(args)} in {folder}: exit {done.returncode}\n{done.stderr[-3000:]}"
            )
        return elapsed

    def instrumented(self, folder, *args, codes=(0,)):
        """One run under /usr/bin/time at TF_LOG_PROVIDER=debug: its processes and RPCs."""
        self.proc_log.write_text("")
        self.tf_log.write_text("")
        wall = self.terraform(folder, *args, instrumented=True, codes=codes)
        processes = []
        for line in self.proc_log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0][0].isdigit():
                elapsed, user, system, rss_kib = parts
                processes.append(
                    {"wall": float(elapsed), "cpu": float(user) + float(system), "rss_kib": int(rss_kib)}
                )
        rpcs = {}
        for line in self.tf_log.read_text(errors="replace").splitlines():
            if not RPC_LINE.search(line):
                continue
            name, duration = RPC_NAME.search(line), RPC_DURATION.search(line)
            if name and duration:
                rpcs.setdefault(name.group(1), []).append(int(duration.group(1)) / 1000.0)
        return {"wall": wall, "processes": processes, "rpcs": rpcs}

    # ---- OpenBao ----------------------------------------------------------------------------

    def start_openbao(self):
        port = free_port()
        self.vault_addr, self.vault_token = f"http://127.0.0.1:{port}", "bench-token"
        self.audit_log = self.work / "audit.log"
        config = self.work / "openbao.hcl"
        config.write_text(
            f'audit "file" "requests" {{\n  options {{\n    file_path = "{self.audit_log}"\n  }}\n}}\n'
        )
        self.bao = subprocess.Popen(
            [self.args.bao, "server", "-dev", "-dev-no-store-token", f"-config={config}",
             f"-dev-root-token-id={self.vault_token}", f"-dev-listen-address=127.0.0.1:{port}"],
            stdout=open(self.work / "openbao.log", "w"), stderr=subprocess.STDOUT,
        )
        env = dict(os.environ, BAO_ADDR=self.vault_addr)
        deadline = time.time() + 60
        while subprocess.run([self.args.bao, "status"], env=env, capture_output=True).returncode != 0:
            if time.time() > deadline:
                raise RuntimeError("OpenBao did not start; see openbao.log")
            time.sleep(0.1)
        self.env.update(VAULT_ADDR=self.vault_addr, VAULT_TOKEN=self.vault_token)

    def audited_secret_requests(self):
        count = 0
        for line in self.audit_log.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("type") == "request" and entry["request"].get("path", "").startswith("secret/"):
                count += 1
        return count

    # ---- profiles ---------------------------------------------------------------------------

    def profile_configs(self, count, cycle, update, carried=None):
        """Configurations per side. `carried` (resource name → attributes) is the konoha state
        the `wide` floor carries; it is only needed for that side."""
        prefix = f"bench/n{count}/c{cycle}"
        bump = 2 if update else 1
        konoha = ['terraform {\n  required_providers {\n    konoha = { source = "konoha/konoha" }\n  }\n}\n',
                  'provider "konoha" {}\n']
        for i in range(1, count + 1):
            konoha.append(
                f'resource "konoha_spark_profile" "p{i}" {{\n  mount = "secret"\n  name = "{prefix}/p{i}"\n'
                f"  executor_instances = {i % 8 + bump}\n}}\n"
            )
        floor = [
            f'resource "terraform_data" "d{i}" {{\n  input = "{"q" if update else "p"}{i}"\n}}\n'
            for i in range(1, count + 1)
        ]
        wide = [
            f'resource "terraform_data" "w{i}" {{\n  triggers_replace = {hcl_literal(carried[f"p{i}"])}\n}}\n'
            for i in range(1, count + 1)
        ] if carried else []
        return {"konoha": "".join(konoha), "floor": "".join(floor), "wide": "".join(wide)}

    def profiles(self, count, runs):
        """`runs` full cycles (create, plans, update, destroy) per side, then one instrumented.

        Sides: `konoha`; `floor`, the issue's floor (`terraform_data` with a one-word input); and
        `wide`, `terraform_data` whose trigger carries, value for value, the state konoha's
        apply of the same cycle wrote (so it follows the schema without a hand-kept copy), which
        separates what Terraform spends on the state's size from what the provider adds.
        Every timed run also records the CPU of Terraform and the providers it started."""
        commands = ["apply", "plan", "plan_norefresh", "update", "destroy"]
        sides = ("konoha", "floor", "wide")
        times = {side: {c: [] for c in commands} for side in sides}
        cpu = {side: {c: [] for c in commands} for side in sides}
        folders = {side: self.work / f"{side}-{count}" for side in sides}
        for folder in folders.values():
            folder.mkdir()
        extra = {"terraform_profile": {}}
        carried = None
        for cycle in range(runs + 1):
            instrumented = cycle == runs
            for side, folder in folders.items():  # konoha first: the wide floor carries its state
                (folder / "main.tf").write_text(self.profile_configs(count, cycle, False, carried)[side])
                steps = [
                    ("apply", ["apply", "-auto-approve"]),
                    ("plan", ["plan", "-detailed-exitcode"]),
                    ("plan_norefresh", ["plan", "-detailed-exitcode", "-refresh=false"]),
                    ("update", ["apply", "-auto-approve"]),
                    ("destroy", ["destroy", "-auto-approve"]),
                ]
                for name, args in steps:
                    if name == "update":
                        if side == "wide":
                            continue  # a changed trigger replaces, which is not an update
                        (folder / "main.tf").write_text(self.profile_configs(count, cycle, update=True)[side])
                    if not instrumented:
                        used = {}
                        times[side][name].append(self.terraform(folder, *args, cpu=used))
                        cpu[side][name].append(used["seconds"])
                        if (side, name) == ("konoha", "apply"):
                            carried = state_attributes(folder)
                        continue
                    if name == "plan_norefresh" and self.perf:
                        extra["terraform_profile"][side] = go_profile.profile(
                            ["terraform", *args], folder,
                            dict(self.env, TF_CLI_CONFIG_FILE=self.tfrc["plain"]), self.work, self.perf,
                        )
                    if side != "konoha":
                        self.terraform(folder, *args)
                        continue
                    before = self.audited_secret_requests()
                    extra[name] = self.instrumented(folder, *args)
                    extra[name]["vault_requests"] = self.audited_secret_requests() - before
                    if name == "apply":
                        carried = state_attributes(folder)
                    if name == "plan":
                        extra["plain_client"] = self.plain_reads(count, cycle, runs)
            print(f"  N={count}: cycle {cycle + 1}/{runs + 1} done", file=sys.stderr)
        self.carried[count] = carried
        if self.perf:
            extra["create_profile"] = self.create_profile(count, runs + 1)
        return {
            "count": count,
            "times": {side: {c: summary(v) for c, v in cmds.items() if v} for side, cmds in times.items()},
            "cpu": {side: {c: summary(v) for c, v in cmds.items() if v} for side, cmds in cpu.items()},
            "instrumented": extra,
        }

    def create_profile(self, count, cycle):
        """`perf record` of a create of `count` resources, floor and konoha, in fresh folders
        (then destroyed, untimed): how an apply's cost grows with N and with the state's size."""
        configs = self.profile_configs(count, cycle, False)
        env = dict(self.env, TF_CLI_CONFIG_FILE=self.tfrc["plain"])
        result = {}
        for side in ("floor", "konoha"):
            folder = self.work / f"{side}-{count}-perf"
            folder.mkdir()
            (folder / "main.tf").write_text(configs[side])
            result[side] = go_profile.profile(
                ["terraform", "apply", "-auto-approve"], folder, env, self.work, self.perf, go_profile.APPLY_FRAMES
            )
            self.terraform(folder, "destroy", "-auto-approve", "-refresh=false")
        return result

    def attribute_sweep(self, count, runs):
        """Terraform's cost against the width of the state it keeps per resource: `count`
        `terraform_data` whose trigger carries the first k attributes (sorted by name) of the
        state konoha wrote, for k from 1 to all of them, with no provider process. The slope is
        what each attribute a resource keeps costs Terraform itself."""
        carried = self.carried[count]
        names = sorted(next(iter(carried.values())))
        width = len(names)
        sizes = sorted({1, width // 4, width // 2, (3 * width) // 4, width} - {0})
        points = []
        for k in sizes:
            folder = self.work / f"sweep-{count}-{k}"
            folder.mkdir()
            kept = names[:k]
            (folder / "main.tf").write_text("".join(
                f'resource "terraform_data" "w{i}" {{\n  triggers_replace = '
                f'{hcl_literal({n: carried[f"p{i}"][n] for n in kept})}\n}}\n'
                for i in range(1, count + 1)
            ))
            self.terraform(folder, "apply", "-auto-approve")
            point = {"attributes": k}
            for key, args in (("plan_norefresh", ["plan", "-detailed-exitcode", "-refresh=false"]),
                              ("plan", ["plan", "-detailed-exitcode"])):
                walls, cpus = [], []
                for _ in range(runs):
                    used = {}
                    walls.append(self.terraform(folder, *args, cpu=used))
                    cpus.append(used["seconds"])
                point[key] = summary(walls)
                point[f"{key}_cpu"] = summary(cpus)
            self.terraform(folder, "destroy", "-auto-approve")
            points.append(point)
            print(f"  sweep N={count}: {k} of {width} attributes done", file=sys.stderr)
        return {"count": count, "width": width, "points": points}

    def plain_reads(self, count, cycle, runs):
        paths = [f"secret/data/bench/n{count}/c{cycle}/p{i}" for i in range(1, count + 1)]
        walls, latencies = [], []
        for _ in range(runs):
            wall, each = plain_client.read_all(self.vault_addr, self.vault_token, paths, CONCURRENCY)
            walls.append(wall)
            latencies.extend(each)
        return {"wall": summary(walls), "p50_ms": percentile(latencies, 0.5) * 1000,
                "p99_ms": percentile(latencies, 0.99) * 1000}

    # ---- Kyuubi servers ---------------------------------------------------------------------

    def kyuubi(self, servers, runs):
        double = subprocess.Popen(
            [self.args.double, str(self.work)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        kubeconfig = double.stdout.readline().strip()

        def ask(command):
            double.stdin.write(command + "\n")
            double.stdin.flush()
            return double.stdout.readline().strip()

        konoha, floor = self.work / "kyuubi", self.work / "kyuubi-floor"
        konoha.mkdir()
        floor.mkdir()
        parts = [
            'terraform {\n  required_providers {\n    konoha = { source = "konoha/konoha" }\n  }\n}\n',
            f'provider "konoha" {{\n  kubernetes {{\n    config_path = "{kubeconfig}"\n  }}\n}}\n',
            'resource "konoha_spark_profile" "p" {\n  mount = "secret"\n  name = "bench/kyuubi"\n}\n',
        ]
        for i in range(1, servers + 1):
            parts.append(
                f'resource "konoha_kyuubi_server" "s{i}" {{\n  name = "bench-{i}"\n  image = "{IMAGE}"\n'
                f'  spark_profile = konoha_spark_profile.p.ref\n  vault_agent {{\n    role = "kyuubi"\n  }}\n'
                f'  engine {{\n    image = "{ENGINE_IMAGE}"\n  }}\n}}\n'
            )
        (konoha / "main.tf").write_text("".join(parts))
        (floor / "main.tf").write_text(
            "".join(f'resource "terraform_data" "d{i}" {{\n  input = "s{i}"\n}}\n' for i in range(1, servers + 1))
        )
        result = {"count": servers}
        result["create"] = self.terraform(konoha, "apply", "-auto-approve")
        self.terraform(floor, "apply", "-auto-approve")
        result["plan"] = summary([self.terraform(konoha, "plan", "-detailed-exitcode") for _ in range(runs)])
        result["floor_plan"] = summary([self.terraform(floor, "plan", "-detailed-exitcode") for _ in range(runs)])
        # The floor carrying each server's state, as for the profiles: what Terraform spends on
        # the servers' state with no provider and no cluster.
        wide = self.work / "kyuubi-wide"
        wide.mkdir()
        carried = state_attributes(konoha)
        (wide / "main.tf").write_text("".join(
            f'resource "terraform_data" "w{i}" {{\n  triggers_replace = {hcl_literal(carried[f"s{i}"])}\n}}\n'
            for i in range(1, servers + 1)
        ))
        self.terraform(wide, "apply", "-auto-approve")
        result["wide_plan"] = summary([self.terraform(wide, "plan", "-detailed-exitcode") for _ in range(runs)])
        applies, writes, requests = [], [], []
        for _ in range(runs):
            ask("clear")
            applies.append(self.terraform(konoha, "apply", "-auto-approve"))
            total, written = (int(x) for x in ask("count").split())
            requests.append(total)
            writes.append(written)
        result["unchanged_apply"] = summary(applies)
        result["unchanged_apply_requests"] = max(requests)
        result["unchanged_apply_writes"] = max(writes)
        result["kubectl"] = self.kubectl(kubeconfig, runs)
        result["destroy"] = self.terraform(konoha, "destroy", "-auto-approve")
        double.stdin.close()
        double.wait(timeout=10)
        return result

    def kubectl(self, kubeconfig, runs):
        """The by-hand route: the objects konoha applied, re-applied with kubectl as konoha's
        field manager (so nothing conflicts), timed the same way."""
        kinds = "deployments,services,configmaps,serviceaccounts,roles,rolebindings,secrets"
        env = dict(self.env, KUBECONFIG=kubeconfig)
        listed = subprocess.run(
            ["kubectl", "get", kinds, "-n", "kyuubi", "-l", "app.kubernetes.io/managed-by=konoha", "-o", "json"],
            env=env, capture_output=True, text=True,
        )
        if listed.returncode != 0:
            return {"error": listed.stderr.strip()[-500:]}
        items = json.loads(listed.stdout)["items"]
        for item in items:
            item.pop("status", None)
            for key in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"):
                item["metadata"].pop(key, None)
        objects = self.work / "objects.json"
        objects.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            done = subprocess.run(
                ["kubectl", "apply", "--server-side", "--field-manager=konoha", "--validate=false",
                 "-f", str(objects)], env=env, capture_output=True, text=True,
            )
            samples.append(time.perf_counter() - started)
            if done.returncode != 0:
                return {"error": done.stderr.strip()[-500:], "objects": len(items)}
        return {"apply": summary(samples), "objects": len(items)}

    # ---- start-up ---------------------------------------------------------------------------

    def handshake(self, runs):
        """Exec to handshake line, with a client certificate like Terraform's (ECDSA P-521)."""
        key, pem = self.work / "client.key", self.work / "client.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-nodes",
             "-days", "1", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(pem)],
            check=True, capture_output=True,
        )
        env = dict(
            self.env,
            TF_PLUGIN_MAGIC_COOKIE="d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
            PLUGIN_PROTOCOL_VERSIONS="5", PLUGIN_MIN_PORT="20000", PLUGIN_MAX_PORT="29000",
            PLUGIN_CLIENT_CERT=pem.read_text(),
        )
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            child = subprocess.Popen([self.args.binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            child.stdout.readline()
            samples.append(time.perf_counter() - started)
            child.kill()
            child.wait()
        return summary(samples)


def machine():
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores ({model}), {mem_kib // 1024 // 1024} GiB, {platform.system()} {platform.release()}, load average {load:.1f} at start"


def save(path, results):
    raw = Path(path)
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(results, indent=2))
    return raw


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--double", required=True)
    parser.add_argument("--bao", required=True)
    parser.add_argument(
        "--profiles", default="200,1000", help="profile counts, comma-separated; 'none' for the Kyuubi part alone"
    )
    parser.add_argument("--servers", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--runs-large", type=int, default=5, help="runs for N > 200, which take longest")
    parser.add_argument("--no-perf", action="store_true", help="skip the perf profile of Terraform")
    parser.add_argument("--doc", default="docs/PERFORMANCE.md")
    parser.add_argument("--chart", default="docs/performance.svg")
    parser.add_argument("--command", default="make bench")
    parser.add_argument("--results", default="target/bench/results.json")
    args = parser.parse_args()
    args.binary = str(Path(args.binary).resolve())

    work = Path(tempfile.mkdtemp(prefix="konoha-bench-"))
    bench = Bench(args, work)
    try:
        bench.start_openbao()
        started = time.time()
        results = {
            "command": args.command,
            "machine": machine(),
            "terraform": subprocess.run(["terraform", "version"], capture_output=True, text=True).stdout.splitlines()[0],
            "kubectl": subprocess.run(["kubectl", "version", "--client"], capture_output=True, text=True).stdout.splitlines()[0],
            "date": time.strftime("%Y-%m-%d"),
            "binary_mib": os.path.getsize(args.binary) / 1024 / 1024,
            "handshake": bench.handshake(args.runs),
            "profiles": [],
        }
        counts = [] if args.profiles in ("", "none") else [int(n) for n in args.profiles.split(",")]
        for count in counts:
            runs = args.runs if count <= 200 else args.runs_large
            print(f"profiles, N={count}, {runs} runs", file=sys.stderr)
            results["profiles"].append(bench.profiles(count, runs))
            if "sweep" not in results:
                results["sweep"] = bench.attribute_sweep(count, args.runs)
            save(args.results, results)  # a long run that dies later keeps what it measured
        print(f"Kyuubi servers, M={args.servers}", file=sys.stderr)
        results["duration_s"] = time.time() - started
        save(args.results, results)
        results["kyuubi"] = bench.kyuubi(args.servers, args.runs)
        results["duration_s"] = time.time() - started
    finally:
        if getattr(bench, "bao", None):
            bench.bao.kill()
            bench.bao.wait()
    raw = save(args.results, results)
    table = report.markdown(results)
    print(table)
    report.write_doc(Path(args.doc), table)
    if results["profiles"]:  # the chart plots profile counts; a Kyuubi-only run has none
        Path(args.chart).write_text(report.svg_chart(results))
    print(f"wrote {args.doc} and {args.chart}; raw results in {raw}", file=sys.stderr)
    if os.environ.get("KONOHA_BENCH_KEEP") is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
