"""Prometheus metrics, in one registry, named `sip_*`. Labels never carry user data.

Every layer records into these; `GET /metrics` exposes them. A separate registry (not the
global default) keeps tests and several apps in one process from colliding.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)

http_requests = Counter("sip_http_requests_total", "HTTP requests", ["route", "method", "status"],
                        registry=REGISTRY)
http_latency = Histogram("sip_http_request_seconds", "HTTP request latency", ["route"],
                         buckets=LATENCY_BUCKETS, registry=REGISTRY)
turns = Counter("sip_turns_total", "customer turns answered", ["channel", "route"],
                registry=REGISTRY)
turn_latency = Histogram("sip_turn_seconds", "time to answer a turn", ["route"],
                         buckets=LATENCY_BUCKETS, registry=REGISTRY)
first_token = Histogram("sip_first_token_seconds", "time to the first streamed token",
                        buckets=LATENCY_BUCKETS, registry=REGISTRY)
tokens = Counter("sip_tokens_total", "tokens used", ["model", "kind"], registry=REGISTRY)
cost = Counter("sip_cost_usd_total", "dollars spent on the provider", ["model"],
               registry=REGISTRY)
provider_errors = Counter("sip_provider_errors_total", "provider errors by type",
                          ["model", "code"], registry=REGISTRY)
limiter_waits = Histogram("sip_limiter_wait_seconds", "time a call waited for the rate limiter",
                          buckets=(0, 0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60), registry=REGISTRY)
rate_limits_avoided = Counter("sip_rate_limits_avoided_total",
                              "calls delayed by the limiter instead of meeting a 429",
                              registry=REGISTRY)
breaker_state = Gauge("sip_breaker_state", "circuit breaker state (0 closed, 1 half-open, 2 open)",
                      ["model"], registry=REGISTRY)
cache_lookups = Counter("sip_cache_lookups_total", "answer cache lookups", ["result"],
                        registry=REGISTRY)
tickets = Counter("sip_tickets_total", "tickets opened", ["reason"], registry=REGISTRY)
http_errors = Counter("sip_http_errors_total", "HTTP error responses by stable error code",
                      ["code"], registry=REGISTRY)
http_streams = Gauge("sip_http_streams_open", "SSE answers being streamed right now",
                     ["api"], registry=REGISTRY)
