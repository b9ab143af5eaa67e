"""Server-rendered pages for on-call and the team lead, over the same domain functions as the
JSON API: sign-in, incidents, the alert inbox, the regulatory register and the week."""

from fastapi import APIRouter

from api.web import alerts, incidents, regulatory, signin, weeks

router = APIRouter(include_in_schema=False)
for module in (signin, incidents, alerts, regulatory, weeks):
    router.include_router(module.router)
