"""Example: a script that uses a BuildNet master's state and locks through the blocking facade.

    python examples/state_and_lock.py --master 127.0.0.1:7890 --secret-file secret.txt

It counts its runs in the master's state and, holding a lock, records which run deployed last;
the lock's fencing token goes with the write so that a late, lapsed holder could be refused.
"""

from __future__ import annotations

import argparse

import buildnet
import buildnet.sync


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--master", required=True, help="HOST:PORT")
    parser.add_argument("--secret-file", required=True)
    args = parser.parse_args()
    host, _, port = args.master.rpartition(":")
    secret = buildnet.read_secret(args.secret_file)

    with buildnet.sync.connect(host, int(port), secret=secret) as c:
        run = c.state.increment("example/runs")
        print(f"run number {run}")
        with c.lock("example/deploy", lease=10, wait=5) as lock:
            print(f"holding example/deploy with fencing token {lock.fencing_token}")
            c.state.set("example/last-deploy", f"run {run} token {lock.token}".encode())
        last = c.state.get("example/last-deploy")
        print(f"last deploy: {last.decode() if last else 'none'}")


if __name__ == "__main__":
    main()
