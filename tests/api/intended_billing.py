"""Intended roles of the billing endpoints."""

ALL = {"customer", "archivist", "clerk", "supervisor", "admin"}

INTENDED = {
    ("POST", "/api/v1/billing/tariffs"): {"admin"},
    ("POST", "/api/v1/billing/readings"): {"clerk", "admin"},
    ("GET", "/api/v1/accounts/<account_no>/bills"): ALL,
    ("GET", "/api/v1/accounts/<account_no>/bills/<period>"): ALL,
    ("GET", "/api/v1/accounts/<account_no>/usage"): ALL,
    ("GET", "/api/v1/accounts/<account_no>/payments"): ALL,
    ("POST", "/api/v1/payments"): {"clerk", "admin"},  # customers never: online money only on the provider's word
}

INTENDED.update(
    {
        ("POST", "/api/v1/billing/adjustments"): {"clerk", "admin"},
        ("GET", "/api/v1/billing/adjustments"): {"clerk", "supervisor", "admin"},
        ("POST", "/api/v1/billing/adjustments/<adjustment_id>/decision"): {"clerk", "admin"},
        ("POST", "/api/v1/billing/payment-imports"): {"clerk", "admin"},
        ("GET", "/api/v1/billing/payment-imports"): {"clerk", "supervisor", "admin"},
        ("GET", "/api/v1/billing/payment-imports/<import_id>"): {"clerk", "supervisor", "admin"},
    }
)

INTENDED.update(
    {
        ("GET", "/api/v1/billing/readings"): {"clerk", "supervisor", "admin"},
        ("POST", "/api/v1/billing/readings/<reading_id>/review"): {"clerk", "admin"},
        ("POST", "/api/v1/billing/meter-changes"): {"clerk", "admin"},
        ("POST", "/api/v1/billing/reading-imports"): {"clerk", "admin"},
        ("GET", "/api/v1/billing/reading-imports/<import_id>"): {"clerk", "supervisor", "admin"},
        # online payment: only customers start one (for their own accounts); anyone who sees the account sees it
        ("POST", "/api/v1/payment-orders"): {"customer"},
        ("GET", "/api/v1/payment-orders/<order_no>"): ALL,
        ("GET", "/api/v1/billing/reconciliations"): {"clerk", "supervisor", "admin"},
    }
)

INTENDED.update(
    {
        # e-invoices and e-bills: whoever sees the account; the choice is the customer's; verifying is public
        ("GET", "/api/v1/accounts/<account_no>/invoices"): ALL,
        ("GET", "/api/v1/accounts/<account_no>/invoices/<invoice_no>.pdf"): ALL,
        ("GET", "/api/v1/accounts/<account_no>/ebills"): ALL,
        ("GET", "/api/v1/accounts/<account_no>/ebills/<period>.pdf"): ALL,
        ("GET", "/api/v1/accounts/<account_no>/invoice-preferences"): ALL,
        ("PUT", "/api/v1/accounts/<account_no>/invoice-preferences"): {"customer"},
    }
)

INTENDED["GET", "/api/v1/invoices/verify"] = None  # public: the QR code on a printed invoice leads here
