"""Server-rendered pages for on-call and the team lead, over the same domain functions as the
JSON API: sign-in, incidents, the alert inbox, the regulatory register and the week."""

from fastapi import APIRouter

from api.web import alerts, exports, incidents, regulatory, reports, scoreboard, signin, weeks

router = APIRouter(include_in_schema=False)
# exports first: /incidents/export would otherwise be taken for an incident's id.
for module in (signin, exports, incidents, alerts, regulatory, scoreboard, weeks, reports):
    router.include_router(module.router)
