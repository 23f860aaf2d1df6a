"""The control API's REST side: tokens, bad input, orders from a real audit trail, config
reload, metrics, the OpenAPI document and the dashboard's files, over a real (not started)
Engine: its RiskEngine, stats and configuration are the real ones."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from server_kit import AUTH, TOKEN, Api, demo_config
from starlette.routing import Mount, Route, WebSocketRoute

from arbcore.engine import Engine
from arbcore.model import Instrument, Order, OrderSide, OrderStatus, OrderType, TimeInForce
from arbcore.risk.engine import TradingState
from arbcore.server import EngineControl, create_app
from arbcore.server.app import MAX_BODY_BYTES, TOKEN_ENV, Guard
from arbcore.server.openapi import OPENAPI
from arbcore.storage.audit import AuditTrail, RecordKind

READS = ["/health", "/metrics", "/status", "/positions", "/orders"]
COMMANDS = ["/trading/start", "/trading/stop", "/config/reload"]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine(demo_config(tmp_path))


@contextlib.contextmanager
def client(engine: Engine, *, token: str | None = TOKEN, open_reads: bool = False) -> Iterator[Api]:
    environ = {TOKEN_ENV: token} if token is not None else {}
    api = Api(create_app(EngineControl(engine), open_reads=open_reads, environ=environ))
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def api(engine: Engine) -> Iterator[Api]:
    with client(engine) as test_client:
        yield test_client


# -- who may do what -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", READS)
def test_reads_need_the_right_token(api: Api, path: str) -> None:
    missing = api.get(path)
    assert missing.status_code == 401
    assert "missing token" in missing.json()["error"]
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = api.get(path, headers={"Authorization": "Bearer not-the-token"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "wrong token"})
    other_scheme = api.get(path, headers={"Authorization": f"Basic {TOKEN}"})
    assert other_scheme.status_code == 401
    assert api.get(path, headers=AUTH).status_code == 200


@pytest.mark.parametrize("path", COMMANDS)
def test_commands_need_the_right_token_even_with_open_reads(engine: Engine, path: str) -> None:
    with client(engine, open_reads=True) as api:
        assert api.get("/status").status_code == 200  # reads are open
        assert api.post(path).status_code == 401
        assert api.post(path, headers={"Authorization": "Bearer x"}).status_code == 401
        assert api.post(path, headers=AUTH).status_code == 200
    expected = TradingState.HALTED if path == "/trading/stop" else TradingState.ACTIVE
    assert engine.risk.state is expected


@pytest.mark.parametrize("open_reads", [False, True])
def test_without_the_variable_commands_are_refused_never_open(
    engine: Engine, open_reads: bool
) -> None:
    with client(engine, token=None, open_reads=open_reads) as api:
        for path in COMMANDS:
            for headers in ({}, AUTH, {"Authorization": "Bearer "}):
                refused = api.post(path, headers=headers)
                assert refused.status_code == 403, (path, headers)
                assert f"disabled until {TOKEN_ENV} is set" in refused.json()["error"]
        read = api.get("/status")
        assert read.status_code == (200 if open_reads else 403)
    assert engine.risk.state is TradingState.ACTIVE


def test_an_empty_variable_counts_as_unset(engine: Engine) -> None:
    with client(engine, token="") as api:
        assert api.post("/trading/stop", headers={"Authorization": "Bearer "}).status_code == 403


def test_the_token_never_reaches_the_log_or_a_repr(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with client(engine) as api:
        api.post("/trading/stop", headers=AUTH, json={"reason": "log check"})
        api.post("/trading/start", headers=AUTH)
        api.get("/status", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert "log check" in caplog.text  # the commands were logged...
    assert TOKEN not in caplog.text  # ...without the token
    assert TOKEN not in repr(Guard(TOKEN, False))


# -- commands ------------------------------------------------------------------------------------


def test_stop_halts_risk_at_once_and_start_resumes(engine: Engine, api: Api) -> None:
    stopped = api.post("/trading/stop", headers=AUTH, json={"reason": "maintenance"})
    assert stopped.status_code == 200
    assert stopped.json()["state"] == "halted"
    assert engine.risk.state is TradingState.HALTED
    assert "maintenance" in engine.risk.state_reason
    assert api.get("/status", headers=AUTH).json()["trading"]["state"] == "halted"
    started = api.post("/trading/start", headers=AUTH)
    assert started.json()["state"] == "active"
    assert engine.risk.state.value == "active"


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400, "not valid JSON"),
        (b'{"reason": "x", "force": true}', {"Content-Type": "application/json"}, 422,
         "unknown field(s) force; known: reason"),
        (b'{"reason": 42}', {"Content-Type": "application/json"}, 422, "non-empty string"),
        (b'{"reason": ""}', {"Content-Type": "application/json"}, 422, "non-empty string"),
        (b'{"reason": "' + b"x" * 300 + b'"}', {"Content-Type": "application/json"}, 422,
         "longer than 200"),
        (b'["reason"]', {"Content-Type": "application/json"}, 422, "must be a JSON object"),
        (b"reason=x", {"Content-Type": "application/x-www-form-urlencoded"}, 415,
         "send application/json"),
        (b"x" * (MAX_BODY_BYTES + 1), {"Content-Type": "application/json"}, 413, "larger than"),
    ],
)  # fmt: skip
def test_bad_bodies_get_a_4xx_with_the_reason_and_change_nothing(
    engine: Engine, api: Api, body: bytes, headers: dict[str, str], status: int,
    reason: str,
) -> None:  # fmt: skip
    refused = api.post("/trading/stop", headers={**AUTH, **headers}, content=body)
    assert refused.status_code == status
    assert reason in refused.json()["error"]
    assert engine.risk.state is TradingState.ACTIVE


def test_an_oversized_streamed_body_is_cut_off(engine: Engine, api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the server counts
        for _ in range(MAX_BODY_BYTES // 1024 + 2):
            yield b" " * 1024

    refused = api.post("/trading/stop", headers={**AUTH, "Content-Type": "application/json"},
                       content=chunks())  # fmt: skip
    assert refused.status_code == 413
    assert engine.risk.state is TradingState.ACTIVE


def test_start_takes_no_fields(api: Api) -> None:
    refused = api.post("/trading/start", headers=AUTH, json={"reason": "x"})
    assert refused.status_code == 422
    assert "known: none" in refused.json()["error"]


@pytest.mark.parametrize("path", [*READS, "/trading/stop"])
def test_unknown_query_parameters_are_refused(api: Api, path: str) -> None:
    method = api.post if path.startswith("/trading") else api.get
    refused = method(f"{path}?verbose=1", headers=AUTH)
    assert refused.status_code == 400
    assert "unknown query parameter(s) verbose" in refused.json()["error"]


def test_unknown_routes_and_methods_answer_json(api: Api) -> None:
    assert api.get("/nowhere").json() == {"error": "Not Found"}
    wrong = api.get("/trading/stop", headers=AUTH)
    assert (wrong.status_code, wrong.json()) == (405, {"error": "Method Not Allowed"})


# -- reloading the configuration -----------------------------------------------------------------


def _write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(f'extends = "run.toml"\n{text}')
    return name


def test_reload_applies_new_risk_limits(engine: Engine, api: Api, tmp_path: Path) -> None:
    name = _write(tmp_path, "tighter.toml", "[risk]\nmax_daily_loss_usd = 123\n")
    reloaded = api.post("/config/reload", headers=AUTH, json={"path": name})
    assert reloaded.status_code == 200, reloaded.text
    outcome = reloaded.json()
    assert outcome["applied"] is True
    assert outcome["reloaded"] == ["risk"]
    assert outcome["restart_needed"] == []
    assert engine.risk.limits.max_daily_loss_usd == 123
    assert engine.config.system.risk.max_daily_loss_usd == 123
    status = api.get("/status", headers=AUTH).json()
    assert status["pnl"]["max_daily_loss_usd"] == 123


def test_reload_names_what_needs_a_restart(engine: Engine, api: Api,
                                           tmp_path: Path) -> None:  # fmt: skip
    name = _write(tmp_path, "venues.toml", '[venues.okx]\nsymbols = ["BTC/USDT"]\n')
    outcome = api.post("/config/reload", headers=AUTH, json={"path": name}).json()
    assert outcome["restart_needed"] == ["venues"]
    assert outcome["reloaded"] == []
    before = api.post("/config/reload", headers=AUTH)  # the running file: nothing differs
    assert before.json()["reloaded"] == before.json()["restart_needed"] == []


@pytest.mark.parametrize(
    ("text", "path", "reason"),
    [
        ("[risk]\nmax_daily_loss_usd = -5\n", "bad.toml", "max_daily_loss_usd"),
        ("[risk]\nmax_daily_los_usd = 5\n", "bad.toml", "max_daily_los_usd"),
        ("[risk\n", "bad.toml", "not valid TOML"),
        ("", "missing.toml", "file not found"),
        ("", "../outside.toml", "outside the configuration directory"),
        ("", "/etc/passwd", "outside the configuration directory"),
        ("", "run.json", "not a .toml file"),
    ],
)
def test_a_bad_reload_changes_nothing_and_says_why(
    engine: Engine, api: Api, tmp_path: Path, text: str, path: str, reason: str
) -> None:
    if text:
        _write(tmp_path, path, text)
    before = engine.config
    refused = api.post("/config/reload", headers=AUTH, json={"path": path})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error.startswith("configuration not reloaded, nothing changed")
    assert reason in error
    assert engine.config is before
    assert engine.risk.limits.max_daily_loss_usd == before.system.risk.max_daily_loss_usd


# -- orders from the audit trail -----------------------------------------------------------------

INSTRUMENT = Instrument(venue="okx", symbol="BTC/USDT", native_symbol="BTC-USDT", base="BTC",
                        quote="USDT", price_decimals=2, size_decimals=6, tick_size=1,
                        lot_size=1)  # fmt: skip


def _order(venue: str, symbol: str, order_id: str, status: OrderStatus, filled: int,
           ts: int) -> Order:  # fmt: skip
    return Order(venue=venue, symbol=symbol, client_order_id=order_id, side=OrderSide.BUY,
                 type=OrderType.LIMIT, price_raw=6_000_012, size_raw=1_500, status=status,
                 filled_raw=filled, time_in_force=TimeInForce.IOC, ts_created_ns=ts)  # fmt: skip


@pytest.fixture
def trail(engine: Engine) -> Engine:
    """Five orders in the engine's audit trail: requests, then the venues' replies."""
    rows = [  # (venue, symbol, id, final status, created at)
        ("okx", "BTC/USDT", "o1", OrderStatus.FILLED, 1_000),
        ("okx", "ETH/USDT", "o2", OrderStatus.CANCELED, 2_000),
        ("binance", "BTC/USDT", "b1", OrderStatus.FILLED, 3_000),
        ("binance", "BTC/USDT", "b2", None, 4_000),  # refused by the venue
        ("okx", "BTC/USDT", "o3", OrderStatus.PARTIALLY_FILLED, 5_000),
    ]
    with AuditTrail(engine.config.system.storage.path) as audit:
        for venue, symbol, order_id, _, ts in rows:
            request = _order(venue, symbol, order_id, OrderStatus.OPEN, 0, ts)
            audit.append(RecordKind.ORDER_REQUEST, request, ts_ns=ts, trace_id=f"t-{order_id}",
                         venue=venue, symbol=symbol)  # fmt: skip
        for venue, symbol, order_id, status, ts in rows:
            if status is None:
                reply: object = {"client_order_id": order_id, "error": "InvalidOrder",
                                 "message": "below the minimum"}  # fmt: skip
            else:
                reply = _order(venue, symbol, order_id, status, 700, ts)
            audit.append(RecordKind.VENUE_REPLY, reply, ts_ns=ts + 10, trace_id=f"t-{order_id}",
                         venue=venue, symbol=symbol)  # fmt: skip
        audit.flush()
    engine.instruments["okx"] = {"BTC/USDT": INSTRUMENT}
    return engine


def _ids(api: Api, query: str) -> list[str]:
    page = api.get(f"/orders{query}", headers=AUTH)
    assert page.status_code == 200, page.text
    return [order["client_order_id"] for order in page.json()["orders"]]


def test_orders_are_paged_newest_first_in_their_latest_state(trail: Engine,
                                                             api: Api) -> None:  # fmt: skip
    page = api.get("/orders?limit=2", headers=AUTH).json()
    assert page["total"] == 5
    assert page["next_offset"] == 2
    first, second = page["orders"]
    assert (first["client_order_id"], first["status"]) == ("o3", "partially_filled")
    assert (first["created_ns"], first["updated_ns"], first["trace_id"]) == (5_000, 5_010, "t-o3")
    assert (first["price"], first["size"], first["filled"]) == ("60000.12", "0.001500", "0.000700")
    assert second["status"] == "rejected"
    assert second["error"]["message"] == "below the minimum"
    assert second["order"]["size_raw"] == 1_500  # the request's order, for a refused one
    assert "price" not in second  # binance's instrument is not known: raw ints only
    assert _ids(api, "?limit=2&offset=2") == ["b1", "o2"]
    last = api.get("/orders?limit=2&offset=4", headers=AUTH).json()
    assert [o["client_order_id"] for o in last["orders"]] == ["o1"]
    assert last["next_offset"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?venue=okx", ["o3", "o2", "o1"]),
        ("?symbol=BTC/USDT", ["o3", "b2", "b1", "o1"]),
        ("?venue=okx&symbol=BTC/USDT", ["o3", "o1"]),
        ("?state=filled", ["b1", "o1"]),
        ("?state=rejected", ["b2"]),
        ("?state=open", []),
        ("?since=2000&until=4000", ["b1", "o2"]),
        ("?since=1970-01-01T00:00:00.000003", ["o3", "b2", "b1"]),
        ("?venue=kraken", []),
    ],
)
def test_orders_filter_by_venue_symbol_state_and_time(trail: Engine, api: Api, query: str,
                                                      expected: list[str]) -> None:  # fmt: skip
    assert _ids(api, query) == expected


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("?state=done", "state must be one of open, partially_filled"),
        ("?limit=0", "limit must be between 1 and 1000, was 0"),
        ("?limit=1001", "limit must be between 1 and 1000, was 1001"),
        ("?limit=ten", "limit must be an integer"),
        ("?offset=-1", "offset must be at least 0"),
        ("?since=yesterday", "since: ns since the epoch or ISO 8601"),
        ("?venue=okx&venue=binance", "given twice: venue"),
    ],
)
def test_bad_order_queries_are_refused_with_the_reason(api: Api, query: str,
                                                       reason: str) -> None:  # fmt: skip
    refused = api.get(f"/orders{query}", headers=AUTH)
    assert refused.status_code == 400
    assert reason in refused.json()["error"]


def test_orders_before_any_trail_is_an_empty_page(api: Api) -> None:
    assert api.get("/orders", headers=AUTH).json() == {
        "orders": [], "total": 0, "offset": 0, "limit": 100, "next_offset": None}  # fmt: skip


# -- reads -----------------------------------------------------------------------------------------


def test_reads_describe_an_engine_not_yet_running(engine: Engine, api: Api) -> None:
    health = api.get("/health", headers=AUTH).json()
    assert health == {"live": True, "ready": False, "venues": {}}
    status = api.get("/status", headers=AUTH).json()
    assert status["running"] is False
    assert status["trading"] == {"state": "active", "reason": ""}
    assert status["pnl"]["max_daily_loss_usd"] == engine.risk.limits.max_daily_loss_usd
    assert status["latency_us"]["samples"] == 0
    engine.stats.latencies_ns.extend(range(1_000, 101_000, 1_000))  # 1..100 us
    latency = api.get("/status", headers=AUTH).json()["latency_us"]
    assert (latency["samples"], latency["p50"], latency["p99"], latency["max"]) == (
        100, 51.0, 100.0, 100.0)  # fmt: skip
    engine.risk.on_position("okx", "USDT", -250.0)
    positions = api.get("/positions", headers=AUTH).json()
    assert positions["venues"]["okx"]["assets"]["USDT"]["usd"] == -250.0
    assert positions["venues"]["okx"]["exposure_usd"] == 250.0
    assert positions["max_exposure_per_exchange_usd"] == (
        engine.risk.limits.max_exposure_per_exchange_usd)  # fmt: skip


def test_metrics_are_the_engine_s_own_in_prometheus_text(engine: Engine, api: Api) -> None:
    engine.stats.book_updates = 1234
    response = api.get("/metrics", headers=AUTH)
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    (updates,) = families["arbitrage_book_updates"].samples
    assert updates.value == 1234  # read from this engine, not the process-global registry
    assert "python_info" not in families


# -- the OpenAPI document and the dashboard's files --------------------------------------------


def _routes(api: Api) -> set[tuple[str, str]]:
    served: set[tuple[str, str]] = set()
    for route in api.app.routes:
        if isinstance(route, Route):
            served |= {(route.path, method.lower()) for method in route.methods or ()
                       if method != "HEAD"}  # fmt: skip
        elif isinstance(route, WebSocketRoute):
            served.add((route.path, "get"))
        elif isinstance(route, Mount):
            served.add((route.path + "/{path}", "get"))
    return served


def test_every_route_is_in_the_openapi_document_and_nothing_else(api: Api) -> None:
    document = api.get("/openapi.json").json()
    assert document == OPENAPI
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert described == _routes(api)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "200" in operation["responses"] or "101" in operation["responses"], path
            if method == "post":  # commands: the token, always
                assert operation["security"] == [{"bearer": []}], path
                assert {"401", "403", "413", "422"} <= set(operation["responses"]), path
    streams = {path for path, item in document["paths"].items()
               if item.get("get", {}).get("x-websocket")}  # fmt: skip
    assert streams == {r.path for r in api.app.routes if isinstance(r, WebSocketRoute)}


def test_the_openapi_document_is_valid() -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(OPENAPI)


def test_the_dashboard_and_its_files_are_served_from_the_package(api: Api) -> None:
    page = api.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert asset in html
        served = api.get(asset)
        assert served.status_code == 200
        assert len(served.content) > 1_000
    assert "http://" not in html  # nothing from a CDN
    assert "https://" not in html
    script = api.get("/static/app.js").text
    assert "innerHTML" not in script  # server data goes in as text only
    assert "sessionStorage" in script
    assert api.get("/static/missing.js").status_code == 404


def test_a_stop_reaches_the_system_stream_in_the_same_call(engine: Engine, api: Api) -> None:
    """The engine publishes the state change itself: no poll stands between."""
    subscription = engine.events.subscribe(["system"])
    api.post("/trading/stop", headers=AUTH, json={"reason": "maintenance"})
    assert subscription.pending == 1
    event = api.loop.run_until_complete(subscription.get())
    assert event is not None
    assert (event.kind, event.data["state"]) == ("state", "halted")
    assert "maintenance" in event.data["reason"]
