"""The bench's yardstick for a refresh: the same KV v2 data reads a refresh makes, sent by a
plain keep-alive HTTP/1.1 client (one persistent connection per worker, `concurrency` workers,
as Terraform refreshes at most that many resources at once). Standard library only."""

import http.client
import threading
import time
import urllib.parse


def read_all(addr, token, paths, concurrency):
    """GETs `/v1/<path>` for every path; returns (wall seconds, per-request seconds)."""
    url = urllib.parse.urlsplit(addr)
    queue = list(paths)
    lock = threading.Lock()
    latencies = []
    failures = []

    def worker():
        connection = http.client.HTTPConnection(url.hostname, url.port)
        mine = []
        while True:
            with lock:
                if not queue:
                    break
                path = queue.pop()
            started = time.perf_counter()
            connection.request("GET", f"/v1/{path}", headers={"X-Vault-Token": token})
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                failures.append(f"{path}: HTTP {response.status}")
        connection.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(concurrency)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    wall = time.perf_counter() - started
    if failures:
        raise RuntimeError("plain client reads failed: " + "; ".join(failures[:3]))
    return wall, latencies
