"""Retention at run time: a loop on every node; the node holding the store's ``retention``
lease does the work, so two nodes never delete the same rows (and a dead node's share is taken
over when its lease runs out).

One pass walks every kind of retention work (`PurgeKind`) in small batches (`[store]
retention_batch` rows, one short transaction each) until a batch comes back short. After each
batch it pauses for ``DUTY`` times as long as the batch took (at least ``MIN_PAUSE``): retention
takes at most a quarter of the database's write time, and the dispatcher's claims, which
SQLite runs on the same single writer, wait behind one batch at most. What the store deletes
is in store/retention.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smppgate.service.config import StoreConfig
from smppgate.service.metrics import Metrics
from smppgate.store import PurgeKind, Store, StoreError

log = logging.getLogger("smppgate.retention")

DAY = 86_400.0
LEASE_NAME = "retention"
#: the pause after a batch, as a multiple of the batch's time
DUTY = 3.0
MIN_PAUSE = 0.01


def cutoffs(settings: StoreConfig, now: float) -> dict[PurgeKind, float]:
    """The kinds of work the settings ask for, each with the time before which rows go."""
    keep = settings.retention_days
    delivered = settings.webhook_days
    if keep and delivered:
        delivered = min(delivered, keep)  # a delivered webhook never outlives its message
    ages = {
        PurgeKind.MESSAGES: keep,
        PurgeKind.INBOUND: keep,
        PurgeKind.ABANDONED_WEBHOOKS: keep,
        PurgeKind.CLIENT_USAGE: keep,
        PurgeKind.UNMATCHED_RECEIPTS: settings.unmatched_receipt_days,
        PurgeKind.DELIVERED_WEBHOOKS: delivered,
        PurgeKind.REDACT_TEXTS: settings.redact_text_after_days,
    }
    return {kind: now - days * DAY for kind, days in ages.items() if days > 0}


@dataclass
class PassReport:
    """What one pass did, per kind (rows deleted; for REDACT_TEXTS, messages redacted)."""

    done: dict[PurgeKind, int] = field(default_factory=dict)
    batches: int = 0
    #: False when another node held the lease (nothing was done here)
    worked: bool = True

    @property
    def total(self) -> int:
        return sum(self.done.values())


class Retention:
    def __init__(
        self,
        store: Store,
        settings: Callable[[], StoreConfig],
        node_id: str,
        *,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
        interval: float = 60.0,
        lease_seconds: float = 120.0,
    ) -> None:
        self._store = store
        self._settings = settings
        self._node_id = node_id
        self._clock = clock
        self._metrics = metrics
        self.interval = interval
        self.lease_seconds = lease_seconds

    async def run(self, stopping: asyncio.Event) -> None:
        """Passes every ``interval`` seconds until ``stopping`` is set."""
        while not stopping.is_set():
            try:
                await self.run_pass(stopping)
            except StoreError as exc:
                log.warning("retention pass failed (retried in %.0f s): %s", self.interval, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.interval)
        with contextlib.suppress(StoreError):
            await self._store.release_maintenance_lease(LEASE_NAME, self._node_id)

    async def run_pass(self, stopping: asyncio.Event | None = None) -> PassReport:
        """One pass: every kind until done (or ``stopping``), if this node holds the lease."""
        report = PassReport()
        settings = self._settings()
        now = self._clock()
        kinds = cutoffs(settings, now)
        if not kinds:
            return report
        if not await self._lease(now):
            report.worked = False
            return report
        renewed = time.monotonic()
        for kind, cutoff in kinds.items():
            while stopping is None or not stopping.is_set():
                if time.monotonic() - renewed > self.lease_seconds / 3:
                    if not await self._lease(self._clock()):
                        log.info("retention lease taken by another node; pass ends here")
                        return report
                    renewed = time.monotonic()
                started = time.monotonic()
                count = await self._store.purge(kind, cutoff, settings.retention_batch)
                elapsed = time.monotonic() - started
                report.batches += 1
                if count:
                    report.done[kind] = report.done.get(kind, 0) + count
                    if self._metrics is not None:
                        self._metrics.retention(kind.value, count)
                if count < settings.retention_batch:
                    break
                await asyncio.sleep(max(MIN_PAUSE, elapsed * DUTY))
        if report.total:
            log.info(
                "retention: %s",
                ", ".join(f"{kind.value} {count}" for kind, count in report.done.items()),
            )
        return report

    async def _lease(self, now: float) -> bool:
        return await self._store.take_maintenance_lease(
            LEASE_NAME, self._node_id, now, self.lease_seconds
        )
