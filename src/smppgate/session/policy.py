"""How a session answers what the peer sends, where providers differ: data, not role branches.

SMPP 3.4 leaves some answers to the parties and platforms narrow them. Devino's page (point 5)
wants every deliver_sm / data_sm answered with status 0 and forbids generic_nack; a plain SMPP
3.4 peer answers an unknown or unreadable request with generic_nack (§3.3). The provider
profile builds the policy (``ProviderProfile.session_policy``), the client hands it to its
sessions; the session only reads the flags, so a new provider is a new profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from smppgate.session.states import Role


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    answer_deliveries: bool
    """Answer every deliver_sm / data_sm with status 0 before the application sees it, in
    whatever state it came and even when it cannot be decoded (the raw bytes then travel in
    a ProtocolViolation, so nothing is lost)."""
    answer_errors: bool
    """Answer a request that is unknown, unreadable or not allowed in the state with an error
    (generic_nack, or the request's response with the error status), as SMPP 3.4 asks. False:
    write nothing and report a ProtocolViolation. An enquire_link is answered either way."""

    @classmethod
    def for_role(cls, role: Role) -> SessionPolicy:
        """The policy when no profile gives one: the SMSC role answers errors as SMPP 3.4
        asks; the ESME role answers every delivery itself (its application never answers) and
        never sends generic_nack (the conservative choice: some SMSCs reset the session)."""
        return SMSC_POLICY if role is Role.SMSC else ESME_POLICY


SMSC_POLICY = SessionPolicy(answer_deliveries=False, answer_errors=True)
ESME_POLICY = SessionPolicy(answer_deliveries=True, answer_errors=False)
