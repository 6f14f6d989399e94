"""Each application type's steps: one declarative table, read by the services, the pages, the papers and the audit.

A step's limit is in working days (``core.workdays``) counted from the previous step's completion (the day of
receipt for the first). Defaults follow State Grid's published service commitments (供电服务十项承诺):

- low-voltage connection in total: residential 5, non-residential 15 working days (acceptance to connection);
- supply plan reply (供电方案答复): high-voltage single source 15, dual source 30 working days;
- design review (设计文件审查) 5, interim check (中间检查) 3, completion check (竣工检验) 5 working days;
- connection (装表接电) after a passed completion check and a signed contract: 5 working days.

Steps without a published figure have documented defaults below. ``CONNECTIONS_STEP_DAYS`` overrides any of them:
``"supply_plan=10,new_hv_dual.supply_plan=25"`` (a step for every type, or ``type.step`` for one type).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import settings
from .models import ApplicationType, StepName

T, S = ApplicationType, StepName


@dataclass(frozen=True)
class Step:
    name: str
    days: int  # the default limit in working days
    paper: str | None = None  # the archive document type of the sheet this step generates
    applies: bool = False  # this step changes the account (opens it for a new connection)


# the fields each step's form asks for (the page's form and the API's ``fields`` object); None: optional
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    S.ACCEPTANCE: ("note",),
    S.SITE_SURVEY: ("findings", "note"),
    S.SUPPLY_PLAN: ("voltage", "capacity_kva", "source_count", "metering", "note"),
    S.DESIGN_REVIEW: ("result", "note"),
    S.INTERIM_CHECK: ("result", "note"),
    S.COMPLETION_CHECK: ("result", "note"),
    S.CONTRACT: ("contract_no", "note"),
    S.CONNECTION: ("meter_no", "connected_on", "tariff_code", "note"),
    S.EXECUTION: ("note",),
    S.ARCHIVING: ("handed_over_on", "note"),
}
# steps whose ``result`` field must be "passed" for the step to be done (a failed check stays on the step)
CHECKS = frozenset({S.DESIGN_REVIEW, S.INTERIM_CHECK, S.COMPLETION_CHECK})

_ACCEPT = Step(S.ACCEPTANCE, 1, "customer_application")
# a connection or a capacity increase is accepted on the application form (用电申请报装单), which every dossier holds
_ACCEPT_FORM = Step(S.ACCEPTANCE, 1, "application_form")
_LV_SURVEY = Step(S.SITE_SURVEY, 2, "business_survey")
_HV_SURVEY = Step(S.SITE_SURVEY, 3, "engineering_survey")
_DESIGN = Step(S.DESIGN_REVIEW, 5, "design_review_opinion")
_INTERIM = Step(S.INTERIM_CHECK, 3, "interim_check_record")
_COMPLETION = Step(S.COMPLETION_CHECK, 5, "completion_acceptance_report")
_CONTRACT = Step(S.CONTRACT, 5, "power_supply_contract")
_CONNECT = Step(S.CONNECTION, 5, "installation_record", applies=True)
_ARCHIVE = Step(S.ARCHIVING, 22, "handover_record")  # the dossier handed over within a month of connection


def _hv_new(plan_days: int) -> tuple[Step, ...]:
    return (
        _ACCEPT_FORM,
        _HV_SURVEY,
        Step(S.SUPPLY_PLAN, plan_days, "supply_plan_reply"),
        _DESIGN,
        _INTERIM,
        _COMPLETION,
        _CONTRACT,
        _CONNECT,
        _ARCHIVE,
    )


def _change(paper: str) -> tuple[Step, ...]:
    """A change of an existing account: accepted, checked on site, carried out."""
    return (_ACCEPT, Step(S.SITE_SURVEY, 2, "business_survey"), Step(S.EXECUTION, 3, paper, applies=True))


FLOWS: dict[str, tuple[Step, ...]] = {
    # low voltage: 1 + 2 + 2 = 5 working days in total (residential), 1 + 4 + 10 = 15 (non-residential)
    T.NEW_LV_RESIDENTIAL: (_ACCEPT_FORM, _LV_SURVEY, Step(S.CONNECTION, 2, "installation_record", applies=True)),
    T.NEW_LV_BUSINESS: (
        _ACCEPT_FORM,
        Step(S.SITE_SURVEY, 4, "business_survey"),
        Step(S.CONNECTION, 10, "installation_record", applies=True),
    ),
    T.NEW_HV_SINGLE: _hv_new(15),
    T.NEW_HV_DUAL: _hv_new(30),
    T.CAPACITY_INCREASE: (
        _ACCEPT_FORM,
        _HV_SURVEY,
        Step(S.SUPPLY_PLAN, 15, "supply_plan_reply"),
        _COMPLETION,
        _CONTRACT,
        Step(S.CONNECTION, 5, "new_install_work_order", applies=True),
    ),
    T.CAPACITY_REDUCTION: _change("service_change_sheet"),
    T.SUSPENSION: _change("service_change_sheet"),
    T.RESUMPTION: _change("service_change_sheet"),
    T.NAME_CHANGE: (_ACCEPT, Step(S.EXECUTION, 3, "misc_work_order", applies=True)),
    T.TRANSFER: (_ACCEPT, _CONTRACT, Step(S.EXECUTION, 3, "misc_work_order", applies=True)),
    T.CATEGORY_CHANGE: _change("misc_work_order"),
    T.CLOSURE: _change("service_change_sheet"),
}
# types that open an account; the others change the account they name
NEW_CONNECTIONS = frozenset({T.NEW_LV_RESIDENTIAL, T.NEW_LV_BUSINESS, T.NEW_HV_SINGLE, T.NEW_HV_DUAL})
# types whose whole run has a published total limit (working days): the sum of their steps' defaults
TOTAL_LIMITS: dict[str, int] = {T.NEW_LV_RESIDENTIAL: 5, T.NEW_LV_BUSINESS: 15}
# types that ask for a capacity; types that ask for a category; types that name a new holder
WITH_CAPACITY = frozenset({*NEW_CONNECTIONS, T.CAPACITY_INCREASE, T.CAPACITY_REDUCTION})
WITH_CATEGORY = frozenset({*NEW_CONNECTIONS, T.CATEGORY_CHANGE})
WITH_NEW_HOLDER = frozenset({T.NAME_CHANGE, T.TRANSFER})


def steps_of(application_type: str) -> tuple[Step, ...]:
    return FLOWS[application_type]


def limit_days(application_type: str, step: str) -> int:
    """The step's limit in working days: the configured override for the type's step, for the step, or the
    table's default."""
    overrides = settings.step_days()
    for key in (f"{application_type}.{step}", step):
        if key in overrides:
            return overrides[key]
    return next(s.days for s in FLOWS[application_type] if s.name == step)


def step_names(application_type: str) -> tuple[str, ...]:
    return tuple(s.name for s in FLOWS[application_type])


def applying_step(application_type: str) -> str:
    """The step that changes (or opens) the account."""
    return next(s.name for s in FLOWS[application_type] if s.applies)
