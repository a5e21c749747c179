"""Benchmarks the project ships: `kabinet bench pos` (issue 3, "Performance").

* `pos` — the orchestration: databases, data, the production server, rounds, the summary;
* `data` — runs inside the benchmark's database (a subprocess): members, cards, terminals,
  and the SQL statements of one commit;
* `load` — request bodies, percentiles and the Python load generator (wrk is preferred);
* `wrk_purchase.lua` — the wrk script that sends one unique purchase per request.

Nothing here is imported by the web application.
"""
