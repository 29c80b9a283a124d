"""The server's counters, rendered as Prometheus text at ``/metrics``.

>>> m = Metrics()
>>> m.uploaded(1024)
>>> "tg_site_upload_bytes_total 1024" in m.render(queue_depth=0)
True
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

__all__ = ["Metrics"]


class Metrics:
    """Arrivals, bytes, processing time per stage, stations seen and their push lag (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bytes = 0
        self._arrivals: dict[str, int] = defaultdict(int)  # by result: passed, failed, error
        self._stage_s: dict[str, float] = defaultdict(float)
        self._stage_n: dict[str, int] = defaultdict(int)
        self._lag_s: dict[str, float] = {}  # station -> last episode's end-to-arrival seconds
        self._last_seen: dict[str, float] = {}

    def uploaded(self, count: int) -> None:
        with self._lock:
            self._bytes += count

    def arrived(self, result: str, stage_seconds: dict[str, float]) -> None:
        with self._lock:
            self._arrivals[result] += 1
            for stage, seconds in stage_seconds.items():
                self._stage_s[stage] += seconds
                self._stage_n[stage] += 1

    def station_pushed(self, station: str, episode_end_ns: int) -> None:
        """A station's episode was committed: it is seen now, ``now - end`` after its recording ended."""
        now = time.time()
        with self._lock:
            self._last_seen[station] = now
            if episode_end_ns > 0:
                self._lag_s[station] = max(0.0, now - episode_end_ns / 1e9)

    def push_lag(self, station: str) -> float | None:
        """Seconds from the station's last pushed episode's end to its arrival; None if not seen."""
        with self._lock:
            return self._lag_s.get(station)

    def render(self, *, queue_depth: int) -> str:
        with self._lock:
            lines = [
                "# HELP tg_site_upload_bytes_total Bytes received in upload chunks.",
                "# TYPE tg_site_upload_bytes_total counter",
                f"tg_site_upload_bytes_total {self._bytes}",
                "# HELP tg_site_arrivals_total Episodes processed on arrival, by result.",
                "# TYPE tg_site_arrivals_total counter",
                *(f'tg_site_arrivals_total{{result="{k}"}} {v}' for k, v in sorted(self._arrivals.items())),
                "# HELP tg_site_arrival_queue_depth Episodes waiting for or in arrival processing.",
                "# TYPE tg_site_arrival_queue_depth gauge",
                f"tg_site_arrival_queue_depth {queue_depth}",
                "# HELP tg_site_stage_seconds_total Arrival processing time per stage.",
                "# TYPE tg_site_stage_seconds_total counter",
                *(
                    f'tg_site_stage_seconds_total{{stage="{k}"}} {v:.6f}'
                    for k, v in sorted(self._stage_s.items())
                ),
                *(f'tg_site_stage_runs_total{{stage="{k}"}} {v}' for k, v in sorted(self._stage_n.items())),
                "# HELP tg_site_stations_seen Stations that pushed since the server started.",
                "# TYPE tg_site_stations_seen gauge",
                f"tg_site_stations_seen {len(self._last_seen)}",
                "# HELP tg_site_push_lag_seconds From a station's last episode's end to its arrival.",
                "# TYPE tg_site_push_lag_seconds gauge",
                *(
                    f'tg_site_push_lag_seconds{{station="{_label(k)}"}} {v:.3f}'
                    for k, v in sorted(self._lag_s.items())
                ),
            ]
        return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
