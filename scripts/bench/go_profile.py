"""Where Terraform's own CPU goes: `perf record` of one command, read against the Go symbol
table that even a stripped Go binary keeps (`.gopclntab`), so frames get function names.

Used by bench.py when `perf` is on PATH; also runs by hand:
    go_profile.py TERRAFORM_BINARY PERF_SCRIPT_OUTPUT   (output of `perf script -F comm,ip,dso`)
"""

import bisect
import collections
import re
import struct
import subprocess
import sys

# Terraform's frames worth naming, in the order the report lists them, with what each is.
FRAMES = [
    ("github.com/hashicorp/terraform/internal/terraform.(*NodePlannableResourceInstance).Execute",
     "planning each resource (all of it: state, provider calls, evaluation)"),
    ("github.com/hashicorp/terraform/internal/plugin.(*GRPCProvider).PlanResourceChange",
     "PlanResourceChange calls, Terraform's side (encode, gRPC, decode)"),
    ("github.com/hashicorp/terraform/internal/plugin.(*GRPCProvider).UpgradeResourceState",
     "UpgradeResourceState calls, Terraform's side"),
    ("github.com/hashicorp/terraform/internal/plugin.(*GRPCProvider).ValidateResourceConfig",
     "ValidateResourceConfig calls, Terraform's side"),
    ("github.com/hashicorp/terraform/internal/plugin.(*GRPCProvider).ReadResource",
     "ReadResource calls, Terraform's side"),
    ("github.com/hashicorp/terraform/internal/terraform.(*BuiltinEvalContext).EvaluateBlock",
     "evaluating each resource's configuration"),
    ("github.com/hashicorp/terraform/internal/configs/configschema.(*Block).ImpliedType",
     "deriving the value type from the schema (again per call)"),
    ("github.com/hashicorp/terraform/internal/terraform.(*NodeAbstractResource).readResourceInstanceState",
     "reading each resource's prior state"),
    ("github.com/hashicorp/terraform/internal/terraform.(*NodeAbstractResourceInstance).writeResourceInstanceStateImpl",
     "writing each resource's state"),
    ("github.com/hashicorp/terraform/internal/states/statefile.Read",
     "reading the state file"),
    ("github.com/hashicorp/terraform/internal/command/views.(*OperationHuman).Plan",
     "rendering the plan for the terminal"),
    ("golang.org/x/text/unicode/norm.Form.String",
     "Unicode normalisation of every string value"),
    ("runtime.gcBgMarkWorker", "Go garbage collector, background marking"),
    ("runtime.mallocgc", "allocation (including assist marking)"),
]

# The same for an apply that creates every resource: where its cost beyond linear comes from.
APPLY_FRAMES = [
    ("github.com/hashicorp/terraform/internal/terraform.(*NodeApplyableResourceInstance).Execute",
     "applying each resource (all of it)"),
    ("github.com/hashicorp/terraform/internal/plugin.(*GRPCProvider).ApplyResourceChange",
     "ApplyResourceChange calls, Terraform's side (encode, gRPC, decode)"),
    ("github.com/hashicorp/terraform/internal/backend/local.(*StateHook).PostStateUpdate",
     "after each resource: the local backend writing the whole state file again"),
    ("github.com/hashicorp/terraform/internal/states/statefile.StatesMarshalEqual",
     "of which: marshalling the old and new state to see whether they differ"),
    ("encoding/json.MarshalIndent", "of which: encoding the state as indented JSON"),
    ("github.com/hashicorp/terraform/internal/states.(*State).DeepCopy", "copying the whole state"),
    ("runtime.gcBgMarkWorker", "Go garbage collector, background marking"),
    ("runtime.mallocgc", "allocation (including assist marking)"),
]


def symbols(binary):
    """(sorted entry addresses, names) from a Go 1.20+ binary's .gopclntab."""
    sections = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout
    for line in sections.splitlines():
        if ".gopclntab" in line:
            fields = line.split("]", 1)[1].split()
            offset, size = int(fields[3], 16), int(fields[4], 16)
            break
    else:
        raise RuntimeError(f"{binary} has no .gopclntab")
    with open(binary, "rb") as f:
        f.seek(offset)
        table = f.read(size)
    magic, = struct.unpack_from("<I", table, 0)
    if magic not in (0xFFFFFFF0, 0xFFFFFFF1):
        raise RuntimeError(f"unknown .gopclntab magic {magic:#x}")
    # pcHeader: magic, pad, minLC, ptrSize, then nfunc, nfiles, textStart and five offsets.
    nfunc, _, text_start, funcnames, _, _, _, functab = struct.unpack_from("<8Q", table, 8)
    entries = []
    for i in range(nfunc):
        entry, funcoff = struct.unpack_from("<II", table, functab + i * 8)
        _, name_off = struct.unpack_from("<Ii", table, functab + funcoff)
        start = funcnames + name_off
        entries.append((text_start + entry, table[start:table.index(b"\0", start)].decode(errors="replace")))
    entries.sort()
    return [a for a, _ in entries], [n for _, n in entries]


def load_base(binary):
    """The address the first LOAD segment maps at (perf prints offsets into the object)."""
    segments = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout
    for line in segments.splitlines():
        fields = line.split()
        if fields and fields[0] == "LOAD":
            return int(fields[2], 16)
    return 0


def inclusive(binary, perf_script, command="terraform"):
    """Samples of `command` inside `binary`, and per function how many samples have it on the stack."""
    addresses, names = symbols(binary)
    base = load_base(binary)
    frame = re.compile(r"\s+([0-9a-f]+)\s+\((.*)\)")
    counts, total, stack, ours = collections.Counter(), 0, set(), False

    def flush():
        nonlocal total
        if ours and stack:
            total += 1
            counts.update(stack)

    for line in perf_script.splitlines():
        if not line.strip():
            flush()
            stack, ours = set(), False
        elif not line[0].isspace():
            flush()
            stack, ours = set(), line.split()[0] == command
        else:
            match = frame.match(line)
            if match and match.group(2) == binary:
                i = bisect.bisect_right(addresses, int(match.group(1), 16) + base) - 1
                if i >= 0:
                    stack.add(names[i])
    flush()
    return total, counts


def profile(command, cwd, env, work, binary, frames=FRAMES):
    """Runs `command` (a Terraform command line) under `perf record` and returns the share of
    Terraform's own CPU samples under each of `frames` (`seconds` at the sampling rate)."""
    hz = 1000
    data = work / "perf.data"
    subprocess.run(
        ["perf", "record", "-F", str(hz), "-g", "-q", "-o", str(data), "--", *command],
        cwd=cwd, env=env, capture_output=True, check=True,
    )
    script = subprocess.run(
        ["perf", "script", "-i", str(data), "-F", "comm,ip,dso"], capture_output=True, text=True, check=True
    ).stdout
    total, counts = inclusive(binary, script)
    return {
        "seconds": total / hz,
        "frames": [(what, counts.get(name, 0) / max(total, 1)) for name, what in frames],
    }


if __name__ == "__main__":
    total, counts = inclusive(sys.argv[1], open(sys.argv[2], errors="replace").read())
    print(f"{total} samples")
    for name, what in FRAMES:
        print(f"{100 * counts.get(name, 0) / max(total, 1):5.1f}%  {what}  ({name})")
