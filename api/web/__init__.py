"""Server-rendered pages for on-call and the team lead, over the same domain functions as the
JSON API: sign-in, incidents, the alert inbox, the regulatory register and the week."""

from fastapi import APIRouter

from api.web import (
    alert_page,
    alerts,
    exports,
    imports,
    incidents,
    oncall,
    regulatory,
    reports,
    scoreboard,
    signin,
    silences,
    weeks,
)

router = APIRouter(include_in_schema=False)
# exports first: /incidents/export would otherwise be taken for an incident's id.
for module in (
    signin,
    exports,
    incidents,
    alerts,
    silences,
    regulatory,
    scoreboard,
    weeks,
    reports,
    imports,
):
    router.include_router(module.router)
for module in (alert_page, oncall):  # the on-call pages, escalation and the ack links
    router.include_router(module.router)
