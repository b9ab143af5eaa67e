"""Many parallel webhook deliveries, duplicates among them, through a real uvicorn server."""

import time

from tests.reliability.storm import (
    make_alertmanager_source,
    send_storm,
    stored_occurrences,
    storm_plan,
    tally,
)

DISTINCT_DELIVERIES = 1000  # each sent twice: 2,000 requests of 5–6 alerts
WORKERS = 16


def test_parallel_duplicate_deliveries_store_every_accepted_alert_exactly_once(
    engine, database_url, servers, figures
) -> None:
    path = make_alertmanager_source(engine)
    # The per-source rate limit is another test's subject; here it must not shape the storm.
    server = servers(database_url, env={"STABILOG_WEBHOOK_RATE_PER_MINUTE": "10000000"}).start()
    plan = storm_plan(path, DISTINCT_DELIVERIES)

    started = time.monotonic()
    outcomes = send_storm(plan, [server.url], workers=WORKERS)
    duration = time.monotonic() - started

    result = tally(outcomes, stored_occurrences(engine))
    figures(
        backend=engine.dialect.name,
        deliveries_sent=len(plan),
        requests=result.requests,
        answered_2xx=result.accepted,
        alerts_sent=result.alerts_accepted,
        stored=result.stored,
        lost=result.lost,
        stored_twice=result.stored_twice,
        wrong_repeat_counts=result.wrong_repeat_counts,
        server_errors=result.server_errors,
        seconds=round(duration, 1),
        deliveries_per_second=round(len(plan) / duration),
    )
    assert result.accepted == len(plan), [o.statuses for o in outcomes if not o.accepted][:5]
    assert result.server_errors == 0
    assert result.lost == 0
    assert result.stored_twice == 0
    assert result.stored == result.alerts_accepted
    assert result.wrong_repeat_counts == 0
    assert "Traceback" not in server.log
