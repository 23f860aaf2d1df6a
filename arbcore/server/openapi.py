"""The control API's OpenAPI 3.1 document, kept as data beside the routes in ``app.py``.

Written by hand rather than generated from the routes so that a test can hold the two against
each other: every route must be described here and everything described must be a route.
WebSocket streams have no OpenAPI form; they are listed as ``get`` with ``x-websocket: true``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OPENAPI"]


def _json(schema: str, description: str) -> dict[str, Any]:
    reference = {"$ref": f"#/components/schemas/{schema}"}
    return {"description": description, "content": {"application/json": {"schema": reference}}}


_READ_ERRORS = {
    "400": _json("Error", "bad query (unknown or malformed parameter)"),
    "401": _json("Error", "token missing or wrong (reads need it unless open_reads)"),
    "403": _json("Error", "reads need the token and ARBCORE_API_TOKEN is not set"),
}
_WRITE_ERRORS = {
    "400": _json("Error", "body is not valid JSON, or a bad query"),
    "401": _json("Error", "token missing or wrong"),
    "403": _json("Error", "ARBCORE_API_TOKEN is not set: commands are disabled"),
    "413": _json("Error", "body larger than 16 KiB"),
    "415": _json("Error", "body is not application/json"),
    "422": _json("Error", "unknown field or a field of the wrong type"),
}
_BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
_OPEN_OR_BEARER: list[dict[str, list[str]]] = [{}, {"bearer": []}]


def _read(summary: str, schema: str, **extra: Any) -> dict[str, Any]:
    responses = {"200": _json(schema, summary), **_READ_ERRORS}
    return {"get": {"summary": summary, "security": _OPEN_OR_BEARER, "responses": responses,
                    **extra}}  # fmt: skip


def _command(summary: str, body: str, result: str, **responses: Any) -> dict[str, Any]:
    return {"post": {
        "summary": summary, "security": _BEARER,
        "requestBody": {"required": False, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}}}},
        "responses": {"200": _json(result, summary), **_WRITE_ERRORS, **responses},
    }}  # fmt: skip


def _stream(summary: str, parameters: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"get": {
        "summary": summary, "x-websocket": True, "security": _OPEN_OR_BEARER,
        "parameters": parameters or [],
        "responses": {"101": {"description": "switching to WebSocket; frames are StreamFrame"},
                      **_READ_ERRORS},
    }}  # fmt: skip


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


_OBJECT = {"type": "object"}
_TIME = {"oneOf": [{"type": "integer"}, {"type": "string", "format": "date-time"}]}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "arbcore control API",
        "version": "1",
        "description": "Read the engine, stop and start trading, reload the configuration, and "
        "stream trades, system events and tops of book. See docs/server.md.",
    },
    "servers": [{"url": "http://127.0.0.1:8080"}],
    "paths": {
        "/": {"get": {"summary": "the risk dashboard (HTML)", "security": [{}],
                      "responses": {"200": {"description": "the page",
                                            "content": {"text/html": {}}}}}},
        "/openapi.json": {"get": {"summary": "this document", "security": [{}],
                                  "responses": {"200": {"description": "OpenAPI 3.1",
                                                        "content": {"application/json": {}}}}}},
        "/static/{path}": {"get": {
            "summary": "the dashboard's script and style sheet", "security": [{}],
            "parameters": [{"name": "path", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the file"},
                          "404": {"description": "no such file"}}}},
        "/health": _read("liveness and per-venue readiness", "Health"),
        "/metrics": {"get": {
            "summary": "Prometheus metrics", "security": _OPEN_OR_BEARER,
            "responses": {"200": {"description": "the Prometheus text exposition format",
                                  "content": {"text/plain": {}}}, **_READ_ERRORS}}},
        "/status": _read("trading state, PnL today and its limit, counts, latency", "Status"),
        "/positions": _read("positions and exposure per venue", "Positions"),
        "/orders": _read("orders in their latest recorded state, newest first", "OrdersPage",
                         parameters=[
            _param("venue", "only this venue", {"type": "string"}),
            _param("symbol", "only this symbol (BTC/USDT)", {"type": "string"}),
            _param("state", "only orders in this state", {"enum": [
                "open", "partially_filled", "filled", "canceled", "rejected", "expired"]}),
            _param("since", "created at or after (ns since the epoch, or ISO 8601)", _TIME),
            _param("until", "created before (ns since the epoch, or ISO 8601)", _TIME),
            _param("offset", "orders to skip", {"type": "integer", "minimum": 0, "default": 0}),
            _param("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 1000,
                                          "default": 100}),
        ]),
        "/config/reload": _command("validate a configuration file, then apply it",
                                   "ReloadRequest", "ReloadOutcome",
                                   **{"422": _json("Error", "the file is invalid or not "
                                                   "allowed; nothing changed")}),
        "/trading/start": _command("resume trading (ACTIVE)", "StartRequest", "TradingState"),
        "/trading/stop": _command("halt trading now (HALTED: the next risk check refuses)",
                                  "StopRequest", "TradingState"),
        "/market-data": _stream("tops of book, one batch per interval per client", [
            _param("symbols", "comma-separated symbols (default: all)", {"type": "string"}),
            _param("interval_ms", "time between batches", {"type": "integer", "minimum": 100,
                                                           "maximum": 60000, "default": 250}),
        ]),
        "/trades": _stream("opportunities, risk decisions, orders, fills, positions, PnL"),
        "/system": _stream("trading state changes, alerts, venue health, status each second"),
    },
    "components": {
        "securitySchemes": {"bearer": {
            "type": "http", "scheme": "bearer",
            "description": "the value of ARBCORE_API_TOKEN; a browser WebSocket offers the "
            "subprotocols arbcore.v1 and arbcore.bearer.<base64url(token)> instead"}},
        "schemas": {
            "Error": {"type": "object", "required": ["error"],
                      "properties": {"error": {"type": "string"}}},
            "Health": {"type": "object", "required": ["live", "ready", "venues"], "properties": {
                "live": {"type": "boolean"}, "ready": {"type": "boolean"},
                "venues": {"type": "object", "additionalProperties": {
                    "$ref": "#/components/schemas/VenueHealth"}}}},
            "VenueHealth": {"type": "object", "properties": {
                "connected": {"type": "boolean"}, "books": {"type": "integer"},
                "synced": {"type": "integer"},
                "stale": {"type": "array", "items": {"type": "string"}},
                "last_message_age_ms": {"type": ["number", "null"]},
                "resyncs": {"type": "integer"}, "ready": {"type": "boolean"}}},
            "Status": {"type": "object", "required": ["trading", "pnl", "counts", "latency_us"],
                       "properties": {
                "mode": {"type": "string"}, "running": {"type": "boolean"},
                "uptime_s": {"type": "number"},
                "trading": {"$ref": "#/components/schemas/TradingState"},
                "pnl": {"type": "object", "properties": {
                    "today_usd": {"type": "number"}, "session_usd": {"type": "number"},
                    "max_daily_loss_usd": {"type": "number"}}},
                "counts": _OBJECT,
                "latency_us": {"type": "object", "properties": {
                    name: {"type": ["number", "null"]} for name in
                    ("samples", "p50", "p90", "p99", "max")}},
                "streams": _OBJECT}},
            "Positions": {"type": "object", "properties": {
                "venues": {"type": "object", "additionalProperties": {"type": "object",
                    "properties": {"assets": _OBJECT, "exposure_usd": {"type": "number"}}}},
                "max_position_usd": {"type": "number"},
                "max_exposure_per_exchange_usd": {"type": "number"}}},
            "OrdersPage": {"type": "object", "required": ["orders", "total", "offset", "limit"],
                           "properties": {
                "orders": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}},
                "total": {"type": "integer"}, "offset": {"type": "integer"},
                "limit": {"type": "integer"}, "next_offset": {"type": ["integer", "null"]}}},
            "Order": {"type": "object", "properties": {
                "created_ns": {"type": "integer"}, "updated_ns": {"type": "integer"},
                "trace_id": {"type": "string"}, "venue": {"type": "string"},
                "symbol": {"type": "string"}, "client_order_id": {"type": "string"},
                "status": {"type": "string"}, "price": {"type": "string"},
                "size": {"type": "string"}, "filled": {"type": "string"},
                "order": _OBJECT, "error": {"type": ["object", "null"]}}},
            "TradingState": {"type": "object", "required": ["state"], "properties": {
                "state": {"enum": ["active", "reducing", "halted"]},
                "reason": {"type": "string"}}},
            "StartRequest": {"type": "object", "additionalProperties": False},
            "StopRequest": {"type": "object", "additionalProperties": False, "properties": {
                "reason": {"type": "string", "minLength": 1, "maxLength": 200}}},
            "ReloadRequest": {"type": "object", "additionalProperties": False, "properties": {
                "path": {"type": "string", "description": "a .toml file in the running "
                         "configuration's directory (default: the running file)"}}},
            "ReloadOutcome": {"type": "object", "properties": {
                "applied": {"type": "boolean"}, "source": {"type": "string"},
                "reason": {"type": "string"},
                "reloaded": {"type": "array", "items": {"type": "string"}},
                "restart_needed": {"type": "array", "items": {"type": "string"}}}},
            "StreamFrame": {"type": "object", "required": ["topic", "kind", "ts_ns", "data"],
                            "properties": {
                "topic": {"enum": ["trades", "system", "market-data"]},
                "kind": {"type": "string", "description": "subscribed, error, quotes; "
                         "opportunity, decision, order, fill, position, pnl, reconcile; "
                         "state, health, status, alert"},
                "ts_ns": {"type": "integer"}, "data": _OBJECT}},
        },
    },
}  # fmt: skip
