"""Staff pages of the audit: the supervisor's dashboard, findings and their workflow, runs, rules, CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from audit import dashboard, settings
from audit.commands import RequestRun, TransitionFinding
from audit.docs import rules_table
from audit.findings import (
    FIXERS,
    finding_application_no,
    finding_history,
    finding_owner,
    get_scoped_finding,
    transition,
)
from audit.models import Finding, FindingStatus
from audit.queries import assignee_candidates, filtered_findings, visible_runs
from audit.rules import all_rules
from audit.runs import request_run, run_summary, visible_run
from billing.models import Account
from core.db import db
from core.errors import DomainError
from core.identity import Role, Unit, User
from core.scope import in_scope, scope_path, visible_units
from webapp.templating import STAFF_NAV, local_datetime

from ..errors import error_message, form_errors
from ..inputs import page_arg
from . import staff
from .access import staff_required, staff_user
from .archive import READERS as ARCHIVE_READERS
from .audit_evidence import evidence_rows, plain_sentence, render_sentence, rule_name

SUPERVISION = (Role.SUPERVISOR, Role.ADMIN)
READERS = (Role.SUPERVISOR, Role.ADMIN, Role.ARCHIVIST, Role.CLERK)
STATUSES = [s.value for s in FindingStatus]

STAFF_NAV.append(("staff.audit_dashboard", "Audit", frozenset(SUPERVISION)))
STAFF_NAV.append(("staff.audit_findings", "Findings", frozenset(READERS)))


def _unit_path(user: User) -> str:
    path = scope_path(user)
    if path is None:
        abort(403)
    return path


@staff.get("/audit")
@staff_required(*SUPERVISION)
def audit_dashboard() -> Any:
    user = staff_user()
    path = _unit_path(user)
    session = db.session
    rates = dashboard.unit_rates(session, path, settings.context())
    last_run = session.scalar(visible_runs(user).limit(1))
    return render_template(
        "audit/dashboard.html",
        totals=dashboard.status_totals(session, path),
        by_rule=[{**row, "name": rule_name(row["rule"])} for row in dashboard.open_by_rule(session, path)],
        by_unit=dashboard.open_by_unit(session, path),
        by_age=dashboard.open_by_age(session, path),
        rates=rates,
        target=settings.target(),
        last_run=last_run,
        units=session.scalars(visible_units(user)).all(),
    )


@staff.post("/audit/runs")
@staff_required(*SUPERVISION)
def audit_start_run() -> Any:
    try:
        scope = RequestRun.parse({"scope": {k: request.form.get(k, "") for k in ("unit", "account_no")}}).scope
        run = request_run(db.session, staff_user(), unit_code=scope.unit, account_no=scope.account_no)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        problem = " ".join(form_errors(exc, {"scope.unit": _("Unit"), "scope.account_no": _("Account no.")}).summary)
        flash(_("The audit could not start: %(problem)s", problem=problem), "error")
        return redirect(url_for("staff.audit_dashboard"))
    return redirect(url_for("staff.audit_run", run_id=run.id))


@staff.get("/audit/runs/<int:run_id>")
@staff_required(*SUPERVISION)
def audit_run(run_id: int) -> Any:
    try:
        run = visible_run(db.session, staff_user(), run_id)
    except DomainError:
        abort(404)
    return render_template("audit/run.html", run=run_summary(run))


def _filtered(user: User) -> Any:
    args = request.args
    status = args.get("status")
    statuses: list[str] | None = ["open", "assigned"]  # what is still to do, unless a status or "all" is asked for
    if status in STATUSES:
        statuses = [str(status)]
    elif status == "all":
        statuses = None
    stmt = filtered_findings(
        db.session,
        user,
        statuses=statuses,
        rule=args.get("rule"),
        account_no=args["account_no"].strip() if args.get("account_no") else None,
        unit_code=args.get("unit"),
    )
    return stmt.order_by(dashboard.severity_rank(), Finding.found_at, Finding.id)


@staff.get("/audit/findings")
@staff_required(*READERS)
def audit_findings() -> Any:
    user = staff_user()
    page = page_arg()
    per_page = 50
    stmt = _filtered(user).add_columns(Account.account_no, Unit.name)  # no account: the application's number
    rows = db.session.execute(stmt.limit(per_page + 1).offset((page - 1) * per_page)).all()
    candidates: list[User] = []
    if user.role == Role.SUPERVISOR:
        candidates = list(
            db.session.scalars(
                select(User)
                .where(User.role.in_(FIXERS), User.active.is_(True), in_scope(user, User.unit_id))
                .order_by(User.name)
            )
        )
    return render_template(
        "audit/findings.html",
        can_decide=user.role == Role.SUPERVISOR,
        candidates=candidates,
        rule_titles={r.code: r.title for r in all_rules()},
        rows=rows[:per_page],
        has_next=len(rows) > per_page,
        page=page,
        statuses=STATUSES,
        rules=all_rules(),
        args=request.args,
        query=request.query_string.decode(),
    )


@staff.get("/audit/findings.csv")
@staff_required(*READERS)
def audit_findings_csv() -> Any:
    user = staff_user()
    stmt = _filtered(user).add_columns(Account.account_no, Unit.code)
    if ids := _bulk_ids():  # "export the ticked ones": those of them the filters show
        stmt = stmt.where(Finding.id.in_(ids))
    titles = {r.code: r.title for r in all_rules()}

    def generate() -> Any:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # so that spreadsheet programs read the Chinese text as UTF-8
        writer.writerow(
            [
                "id",
                "rule",
                "title",
                "severity",
                "account_no",
                "application_no",
                "unit",
                "status",
                "assignee",
                "found_at",
                "last_seen_at",
                "resolved_at",
                "resolution",
                "reason",
                "evidence",
                "what_was_found",
            ]
        )
        for finding, account_no, unit_code in db.session.execute(stmt).yield_per(1000):
            writer.writerow(
                [
                    finding.id,
                    finding.rule,
                    rule_name(finding.rule, titles),
                    finding.severity,
                    account_no or "",
                    finding_application_no(finding) or "",
                    unit_code,
                    finding.status,
                    finding.assignee.username if finding.assignee else "",
                    local_datetime(finding.found_at),
                    local_datetime(finding.last_seen_at),
                    local_datetime(finding.resolved_at),
                    finding.resolution or "",
                    finding.reason,
                    json.dumps(finding.evidence, ensure_ascii=False, sort_keys=True),
                    plain_sentence(finding.rule, finding.evidence or {}, account_no, user.role),
                ]
            )
            if buffer.tell() > 65536:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=findings.csv"},
    )


@staff.get("/audit/findings/<int:finding_id>")
@staff_required(*READERS)
def audit_finding(finding_id: int) -> Any:
    user = staff_user()
    finding = _finding_or_404(user, finding_id)
    account, unit = finding_owner(db.session, finding)
    assignees: list[User] = []
    if user.role == Role.SUPERVISOR:
        assignees = assignee_candidates(db.session, unit)
    rule = next((r for r in rules_table() if r["code"] == finding.rule), None)
    return render_template(
        "audit/finding.html",
        finding=finding,
        account=account,
        unit=unit,
        application_no=finding_application_no(finding),
        rule=rule,
        evidence=evidence_rows(
            finding.evidence or {}, tuple(rule["evidence"]) if rule else (), archive=user.role in ARCHIVE_READERS
        ),
        history=finding_history(db.session, finding),
        assignees=assignees,
        can_decide=user.role == Role.SUPERVISOR,
        can_remediate=user.role in FIXERS and finding.assignee_id == user.id and finding.status == "assigned",
        sentence=render_sentence(
            finding.rule, finding.evidence or {}, account.account_no if account else None, user.role
        ),
        evidence_json=json.dumps(finding.evidence, ensure_ascii=False, indent=2, sort_keys=True),
        document_id=_evidence_document(finding),
        can_open_archive=user.role in ARCHIVE_READERS,
    )


def _evidence_document(finding: Finding) -> int | None:
    """The document a finding is about, for the drill-down link (`document:17` or its evidence)."""
    kind, _sep, key = finding.subject.partition(":")
    if kind == "document" and key.isdigit():
        return int(key)
    value = (finding.evidence or {}).get("document_id")
    return value if isinstance(value, int) else None


@staff.post("/audit/findings/<int:finding_id>/transition")
@staff_required(Role.SUPERVISOR, Role.ARCHIVIST, Role.CLERK)
def audit_transition(finding_id: int) -> Any:
    user = staff_user()
    finding = _finding_or_404(user, finding_id)
    try:
        command = TransitionFinding.parse(
            {k: request.form[k] for k in ("to", "assignee", "reason") if k in request.form}
        )
        transition(db.session, finding, user, command)
        db.session.commit()
        flash(_("Saved."), "ok")
    except DomainError as exc:
        db.session.rollback()
        labels = {"to": _("Status"), "assignee": _("Assign to"), "reason": _("Reason for the waiver")}
        flash(" ".join(form_errors(exc, labels).summary), "error")
    return redirect(url_for("staff.audit_finding", finding_id=finding_id))


@staff.get("/audit/rules")
@staff_required(*READERS)
def audit_rules() -> Any:
    return render_template("audit/rules.html", rules=rules_table())


def _finding_or_404(user: User, finding_id: int) -> Finding:
    try:
        finding = get_scoped_finding(db.session, user, finding_id)
    except DomainError:
        abort(404)
    if user.role in FIXERS and finding.assignee_id != user.id:
        abort(404)
    return finding


# --- bulk actions on the findings list ---------------------------------------------------------------------------

BULK_LIMIT = 200


def _bulk_ids() -> list[int]:
    return sorted({int(v) for v in request.values.getlist("ids") if v.isdigit()})[:BULK_LIMIT]


@staff.post("/audit/findings/bulk")
@staff_required(Role.SUPERVISOR)
def audit_findings_bulk() -> Any:
    """Assign the ticked findings to one person, or waive them with one reason: each finding is decided on its own
    (a savepoint each), so one refused finding is reported and never undoes the others."""
    user = staff_user()
    ids = _bulk_ids()
    back = redirect(request.form.get("back") or url_for("staff.audit_findings"))
    if not ids:
        flash(_("Tick the findings to change first."), "error")
        return back
    try:
        command = TransitionFinding.parse(
            {k: request.form[k] for k in ("to", "assignee", "reason") if request.form.get(k)}
        )
    except DomainError as exc:
        labels = {"to": _("Status"), "assignee": _("Assign to"), "reason": _("Reason for the waiver")}
        flash(" ".join(form_errors(exc, labels).summary), "error")
        return back
    done, refused = 0, []
    for finding_id in ids:
        try:
            finding = get_scoped_finding(db.session, user, finding_id)
            with db.session.begin_nested():
                transition(db.session, finding, user, command)
            done += 1
        except DomainError as exc:
            refused.append(f"#{finding_id}: {error_message(exc)}")
    db.session.commit()
    flash(_("%(n)s findings changed.", n=done), "ok")
    if refused:
        flash(_("Not changed: %(list)s", list="; ".join(refused)), "error")
    return back
