"""A history writer for the kill and concurrency tests: adds events, acknowledging each.

``python tests/reliability/history_writer.py URL WRITER N`` opens the history store at
``URL`` (``assistant.store.open_store``) and adds ``N`` events for user ``user-WRITER``
(items ``WRITER-0`` ... ``WRITER-(N-1)``). It prints ``ACK <item>`` once ``add_event``
has returned, that is after the commit, and ``ERR <item> <error>`` when a write fails;
it ends with ``DONE <acks> <errors>``. Whatever it acknowledged must be in the store
afterwards, even when it is SIGKILLed a moment later.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(url: str, writer: str, n: int) -> None:
    from assistant.store import open_store

    acks = errors = 0
    with open_store(url, busy_timeout_s=30.0) as store:
        print("OPEN", flush=True)
        for k in range(n):
            item = f"{writer}-{k}"
            try:
                store.add_event(f"user-{writer}", item, "like", timestamp=1_700_000_000 + k)
            except Exception as exc:  # noqa: BLE001 - counted and reported, not fatal
                errors += 1
                print(f"ERR {item} {exc!r}", flush=True)
                continue
            acks += 1
            print(f"ACK {item}", flush=True)
    print(f"DONE {acks} {errors}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
