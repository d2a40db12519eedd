"""The demo application's tasks: each shows one thing Taskman does.

A task is a function of the module, `def name(payload, ctx)` or `async def`; its return value is
the JSON result. Payloads are optional (`payload or {}`): a task submitted with a null payload runs
with its defaults.
"""
import asyncio
import os
import time

from .customers import check_row


def generate_report(payload, ctx):
    """Reports progress over a few seconds, then returns a small report."""
    payload = payload or {}
    month = payload.get("month", "2026-10")
    sections = payload.get("sections", 8)
    totals = {}
    for i in range(1, sections + 1):
        time.sleep(0.4)
        ctx.check_abort()
        totals[f"section {i}"] = i * 1250
        ctx.progress(i / sections * 100, f"section {i} of {sections}")
    ctx.log(f"report for {month} has {sections} sections")
    return {"month": month, "region": os.environ.get("DEMO_REGION"), "totals": totals}


def import_customers(payload, ctx):
    """Fails half-way with a traceback, as a real import does when it meets a bad row."""
    file = (payload or {}).get("file", "customers.csv")
    rows = [["id", "name", "email", "country", "since"]] * 5 + [["6", "Ada", "ada@example.com", "2019"]]
    for number, columns in enumerate(rows, start=1):
        time.sleep(0.3)
        ctx.check_abort()
        check_row(file, number, columns)
        ctx.progress(number * 10, f"row {number}")


async def rebuild_search_index(payload, ctx):
    """A long job that stops cleanly when it is aborted."""
    documents = (payload or {}).get("documents", 1000)
    for done in range(0, documents, 10):
        await asyncio.sleep(0.1)
        ctx.check_abort()
        ctx.progress(done / documents * 100, f"{done} of {documents} documents")
    return {"documents": documents}


def send_digest(payload, ctx):
    """Sends a digest; the demo gives it a deadline it cannot meet, so it expires unstarted."""
    return {"sent": (payload or {}).get("to")}


def summarize_sales(payload, ctx):
    """Returns a structured result at once."""
    quarters = [
        {"quarter": "Q1", "revenue": 182000, "orders": 1204},
        {"quarter": "Q2", "revenue": 201500, "orders": 1377},
        {"quarter": "Q3", "revenue": 196250, "orders": 1318},
    ]
    best = max(quarters, key=lambda quarter: quarter["revenue"])
    return {"year": (payload or {}).get("year", 2026), "quarters": quarters, "best": best["quarter"]}
