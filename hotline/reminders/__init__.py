"""Deadline reminders: sign-up and schedule (schedule.py), the sending worker (worker.py), reports.

The package's public face, for the CLI, benchmarks and tests.
"""
from hotline.reminders.reports import due_report, person_report
from hotline.reminders.schedule import NotAllowed, Schedule, job_id, mark_filed, plan, subscribe
from hotline.reminders.worker import RunReport, in_flight_bound, process_claimed, run_forever, run_once
from hotline.store.schedule import LEASE_SECONDS, cancel, claim, claim_jobs

__all__ = ["LEASE_SECONDS", "NotAllowed", "RunReport", "Schedule", "cancel", "claim", "claim_jobs", "due_report",
           "in_flight_bound", "job_id", "mark_filed", "person_report", "plan", "process_claimed", "run_forever",
           "run_once", "subscribe"]
