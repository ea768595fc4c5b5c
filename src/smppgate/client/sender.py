"""``send_message``: one message through a pool, applying the platform's error rules in memory.

The gateway keeps its retry queue in the store; this helper is for the CLI and simple uses.
It resends what the rules allow (throttled parts at once, the connection itself pausing;
queue-full parts after 5 / 15 / 45 ... s; other transient errors with the profile's delays),
never resends a permanent failure, and never resends a part whose outcome is unknown unless
told to. A part that fails for good (ESME_RINVDSTADR, or retries used up) ends the message:
its other unsent parts are cancelled (spec D-19), the gateway's rule (``decide_message``).
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from smppgate.client.message import MessagePlan, OutboundMessage
from smppgate.client.pool import SessionPool
from smppgate.client.results import SubmitOutcome, SubmitResult
from smppgate.client.retry import Action, Attempts, MessageAction, decide_message
from smppgate.pdu import RetryClass


class MessageResult(NamedTuple):
    """The final result of every part of one message, in order."""

    plan: MessagePlan
    parts: tuple[SubmitResult, ...]

    @property
    def accepted(self) -> bool:
        return all(p.outcome is SubmitOutcome.ACCEPTED for p in self.parts)

    @property
    def message_ids(self) -> tuple[str | None, ...]:
        return tuple(p.message_id for p in self.parts)


async def send_message(
    pool: SessionPool,
    message: OutboundMessage,
    *,
    resend_unknown: bool = False,
) -> MessageResult:
    """Send ``message`` (all parts through one session, in order) and retry per the rules."""
    rules = pool.profile.retry
    plan = pool.prepare(message)
    loop = asyncio.get_running_loop()
    n = len(plan.parts)
    final: list[SubmitResult | None] = [None] * n
    attempts = [Attempts()] * n
    ready_at = [0.0] * n
    order = list(range(n))
    try:
        while order:
            now = loop.time()
            due = [i for i in order if ready_at[i] <= now]
            if not due:
                await asyncio.sleep(min(ready_at[i] for i in order) - now)
                continue
            results = await pool.submit([plan.parts[i] for i in due])
            verdict = decide_message(results, [attempts[i] for i in due], rules)
            back: list[int] = []
            for i, result, decision in zip(due, results, verdict.parts, strict=True):
                attempts[i] = decision.attempts
                resend = decision.action is Action.RESEND or (
                    decision.action is Action.UNKNOWN and resend_unknown
                )
                if not resend:
                    final[i] = result
                    order.remove(i)
                    continue
                ready_at[i] = loop.time() + decision.delay
                if decision.back_of_queue:
                    order.remove(i)
                    back.append(i)
            order.extend(back)
            if verdict.action is MessageAction.FAIL:
                # D-19: a part that failed ends the message; parts not yet accepted stop here
                for i in order:
                    final[i] = SubmitResult(
                        SubmitOutcome.FAILED, None, None, RetryClass.PERMANENT, 0.0,
                        "cancelled: another part failed",
                    )  # fmt: skip
                order.clear()
    finally:
        pool.release(plan)
    return MessageResult(plan, tuple(r for r in final if r is not None))
