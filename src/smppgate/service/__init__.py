"""The gateway: configuration, the dispatcher (claim -> submit -> record), receipts and MO
handling, the webhook outbox, metrics, and the runtime that wires them together."""
