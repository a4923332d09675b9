"""How many `ReadResource` calls were in flight, on average, during a refresh: the sum of the
provider's span durations over the time from the first span's start to the last one's end.

    TF_LOG_PROVIDER=debug TF_LOG_PATH=plan.log terraform plan
    python3 scripts/bench/inflight.py plan.log

Each "rpc finished" line carries the span's end (`timestamp=`) and `duration_us`. An average far
below Terraform's parallelism (10) means the provider waits for Terraform to hand it the next
read, rather than Terraform waiting for the provider.
"""

import datetime
import re
import sys


def spans(log_lines, rpc="ReadResource"):
    """(start, end) in seconds of every finished span of `rpc`."""
    found = []
    for line in log_lines:
        if "rpc finished" not in line or f"/{rpc} " not in line + " ":
            continue
        end = re.search(r"timestamp=(\S+)", line)
        duration = re.search(r"duration_us=(\d+)", line)
        if end and duration:
            stop = datetime.datetime.fromisoformat(end.group(1).replace("Z", "+00:00")).timestamp()
            found.append((stop - int(duration.group(1)) / 1e6, stop))
    return found


def main():
    with open(sys.argv[1], errors="replace") as log:
        found = spans(log)
    if not found:
        sys.exit("no ReadResource spans in the log (was TF_LOG_PROVIDER=debug set?)")
    window = max(stop for _, stop in found) - min(start for start, _ in found)
    busy = sum(stop - start for start, stop in found)
    print(f"{len(found)} ReadResource spans over {window:.3f} s, {busy:.3f} s in all: "
          f"{busy / window:.2f} in flight on average")


if __name__ == "__main__":
    main()
