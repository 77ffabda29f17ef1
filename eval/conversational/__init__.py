"""The conversational suite: request sets (load, generate, save), a runner that sends each
request through any turn function, and per-slot accuracy of request parsers."""

from eval.conversational.generate import GeneratedRequests, describe_item, generate_requests
from eval.conversational.requests import RequestCase, RequestSet, load_requests, save_requests
from eval.conversational.runner import (
    DEFAULT_REQUEST_METRICS,
    RequestResult,
    RequestSuite,
    TurnFn,
    as_turn,
    history_lookup,
    run_requests,
)
from eval.conversational.slots import (
    ALL_SLOTS,
    load_labelled_requests,
    parser_accuracy,
    slot_accuracy,
)

__all__ = [
    "ALL_SLOTS",
    "DEFAULT_REQUEST_METRICS",
    "RequestResult",
    "RequestSuite",
    "TurnFn",
    "as_turn",
    "history_lookup",
    "load_labelled_requests",
    "parser_accuracy",
    "run_requests",
    "slot_accuracy",
    "GeneratedRequests",
    "RequestCase",
    "RequestSet",
    "describe_item",
    "generate_requests",
    "load_requests",
    "save_requests",
]
