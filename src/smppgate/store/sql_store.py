"""The store, written once over `Backend`: every operation is one function run in one
transaction, so each call is atomic on both SQLite and PostgreSQL.

`SqlStore` is composed of one part per concern, each a module of its own that reads in one
sitting (docs/store.md, "Layout"): a new concern gets a new module and one more base here.
State changes follow `lifecycle.py`: queue moves (claim, requeue, recovery) are made by their
operations directly; every other change goes through `settling.settle`, which recomputes each
touched message's state from its parts and stores what `lifecycle.settle` allows.
"""

from __future__ import annotations

from smppgate.store.blocklist import BlocklistStore
from smppgate.store.cluster import ClusterStore
from smppgate.store.inbound import InboundStore
from smppgate.store.intake import MAX_BATCH, IntakeStore
from smppgate.store.leases import LeaseReads
from smppgate.store.messages import MessageReads
from smppgate.store.mo_parts import MoPartStore
from smppgate.store.outcomes import OutcomeStore
from smppgate.store.queue import QueueStore
from smppgate.store.receipts import ReceiptStore
from smppgate.store.retention import RetentionStore
from smppgate.store.schedule import ScheduleStore
from smppgate.store.smpp_mo import SmppMoStore
from smppgate.store.smpp_outbox import SmppOutboxStore
from smppgate.store.smpp_parts import SmppPartsStore
from smppgate.store.webhooks import WebhookStore

__all__ = ["MAX_BATCH", "SqlStore"]


class SqlStore(
    IntakeStore,
    MessageReads,
    QueueStore,
    LeaseReads,
    ScheduleStore,
    OutcomeStore,
    ReceiptStore,
    InboundStore,
    MoPartStore,
    SmppOutboxStore,
    SmppPartsStore,
    SmppMoStore,
    WebhookStore,
    RetentionStore,
    ClusterStore,
    BlocklistStore,
):
    """The `Store` protocol over one `Backend` (see `protocol.py` for the contract)."""
