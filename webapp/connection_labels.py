"""The labels of business handling's codes (types, steps, statuses, timings, papers) in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

TYPE_LABELS = {
    "new_lv_residential": _l("New connection, low voltage, residential"),
    "new_lv_business": _l("New connection, low voltage, non-residential"),
    "new_hv_single": _l("New connection, high voltage, single source"),
    "new_hv_dual": _l("New connection, high voltage, dual source"),
    "capacity_increase": _l("Capacity increase"),
    "capacity_reduction": _l("Capacity reduction"),
    "suspension": _l("Suspension"),
    "resumption": _l("Resumption after suspension"),
    "name_change": _l("Name change"),
    "transfer": _l("Transfer of ownership"),
    "category_change": _l("Category change"),
    "closure": _l("Account closure"),
}
STEP_LABELS = {
    "acceptance": _l("Acceptance"),
    "site_survey": _l("Site survey"),
    "supply_plan": _l("Supply plan reply"),
    "design_review": _l("Design review"),
    "interim_check": _l("Interim check"),
    "completion_check": _l("Completion check"),
    "contract": _l("Supply contract signed"),
    "connection": _l("Meter installed and connected"),
    "execution": _l("Change carried out"),
    "archiving": _l("Dossier handed over"),
}
STATUS_LABELS = {
    "in_progress": _l("In progress"),
    "awaiting_customer": _l("Waiting for the customer"),
    "completed": _l("Completed"),
    "withdrawn": _l("Withdrawn"),
}
TIMING_LABELS = {
    "overdue": _l("Overdue"),
    "due_soon": _l("Due soon"),
    "waiting": _l("Clock stopped"),
    "on_time": _l("On time"),
    "closed": _l("Closed"),
}
ACTION_LABELS = {
    "received": _l("Received"),
    "returned": _l("Returned to the customer for more papers"),
    "resumed": _l("The customer answered; the clock runs again"),
    "check_failed": _l("Check not passed"),
    "withdrawn": _l("Withdrawn"),
    "completed": _l("Completed"),
    "assigned": _l("Assigned"),
    "rated": _l("Rated"),
    "uploaded": _l("Paper received"),
    **STEP_LABELS,
}
PAPER_LABELS = {
    "id_card": _l("ID card"),
    "business_licence": _l("Business licence"),
    "property_proof": _l("Property proof"),
    "other": _l("Other papers"),
}
FIELD_LABELS = {
    "note": _l("Note"),
    "findings": _l("Survey findings"),
    "voltage": _l("Supply voltage"),
    "capacity_kva": _l("Capacity granted (kVA)"),
    "source_count": _l("Number of sources"),
    "metering": _l("Metering"),
    "result": _l("Result"),
    "contract_no": _l("Contract number"),
    "meter_no": _l("Meter number"),
    "connected_on": _l("Connected on"),
    "tariff_code": _l("Tariff"),
    "handed_over_on": _l("Handed over on"),
}
VALUE_LABELS = {
    "passed": _l("Passed"),
    "failed": _l("Not passed"),
    "high_supply_high_metering": _l("High-voltage supply, high-voltage metering"),
    "high_supply_low_metering": _l("High-voltage supply, low-voltage metering"),
    "low_supply_low_metering": _l("Low-voltage supply, low-voltage metering"),
}


def label(table: dict[str, object], code: str | None) -> str:
    return str(table.get(code or "", code or ""))
