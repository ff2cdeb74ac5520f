"""Email as a durable outbox: queued in the caller's transaction, delivered by a worker, once.

`queue_email` writes an OutgoingEmail row next to whatever caused it and enqueues its delivery
after commit. `deliver` skips rows already SENT, so a redelivered job never mails twice;
SMTP refusals raise, and the job is retried with exponential backoff.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from email.utils import make_msgid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from finora_gql.core import clock
from finora_gql.core.jobs import enqueue_after_commit, enqueue_async
from finora_gql.core.mail import EmailMessage, MailDeliveryError
from finora_gql.core.runtime import Runtime
from finora_gql.notifications.models import EmailStatus, OutgoingEmail

log = logging.getLogger("finora.email")
STALE_AFTER = dt.timedelta(minutes=10)


def queue_email(session: AsyncSession, message: EmailMessage, *, user_id: uuid.UUID | None = None) -> OutgoingEmail:
    row = OutgoingEmail(
        user_id=user_id,
        to=message.to,
        subject=message.subject,
        text=message.text,
        html=message.html,
        message_id=make_msgid(domain="finora.local"),
    )
    session.add(row)
    enqueue_after_commit(session, "deliver_email", str(row.id))
    return row


async def deliver(session: AsyncSession, rt: Runtime, email_id: uuid.UUID) -> EmailStatus | None:
    row = await session.get(OutgoingEmail, email_id, with_for_update=True)
    if row is None or row.status is not EmailStatus.PENDING:
        return row.status if row else None
    row.attempts += 1
    message = EmailMessage(
        to=row.to, subject=row.subject, text=row.text, html=row.html, headers={"Message-ID": row.message_id}
    )
    try:
        await rt.mailer.send(message)
    except MailDeliveryError as error:
        row.last_error = str(error)[:500]
        # A permanent refusal (bad address, auth) will not heal by retrying; nor will the last try.
        if not error.temporary or row.attempts > rt.settings.job_max_retries:
            row.status = EmailStatus.FAILED
            log.error("email %s failed after %d attempts: %s", row.id, row.attempts, error)
        session.add(row)
        await session.commit()
        if error.temporary:
            raise  # retried with backoff; after the last retry the job is dead-lettered
        return row.status
    row.status = EmailStatus.SENT
    row.sent_at = clock.now()
    session.add(row)
    await session.commit()
    return row.status


async def requeue_stale(session: AsyncSession) -> int:
    cutoff = clock.now() - STALE_AFTER
    ids = (
        await session.exec(
            select(OutgoingEmail.id).where(
                col(OutgoingEmail.status) == EmailStatus.PENDING,
                col(OutgoingEmail.attempts) == 0,  # never tried: its job was lost, not merely backing off
                col(OutgoingEmail.created_at) < cutoff,
            )
        )
    ).all()
    for email_id in ids:
        await enqueue_async("deliver_email", str(email_id))
    return len(ids)
