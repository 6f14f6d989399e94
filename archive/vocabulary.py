"""The archive's controlled vocabularies: document types, writing materials, paper sizes."""

from __future__ import annotations

import enum


class DocType(enum.StrEnum):
    CUSTOMER_APPLICATION = "customer_application"  # 用电申请
    APPLICATION_FORM = "application_form"  # 用电申请报装单
    ENGINEERING_SURVEY = "engineering_survey"  # 工程勘测单
    POWER_OF_ATTORNEY = "power_of_attorney"  # 客户委托书
    BUSINESS_SURVEY = "business_survey"  # 营业勘测单
    TEST_REPORT = "test_report"  # 试验报告
    CONSTRUCTION_REGISTRATION = "construction_registration"  # 工程施工登记表
    INSTALLATION_RECORD = "installation_record"  # 安装调试记录
    BOX_SUBSTATION_RECORD = "box_substation_record"  # 箱变资料
    COMPLETION_ACCEPTANCE_REPORT = "completion_acceptance_report"  # 工程竣工验收报告
    ACCEPTANCE_WORK_ORDER = "acceptance_work_order"  # 工程验收工作单
    NEW_INSTALL_WORK_ORDER = "new_install_work_order"  # 新装增容工作单
    USAGE_RECORD_SHEET = "usage_record_sheet"  # 用户用电档案单
    INSPECTION_SHEET = "inspection_sheet"  # 用电检查单
    MISC_WORK_ORDER = "misc_work_order"  # 杂项工作单
    VIOLATION_NOTICE = "violation_notice"  # 违约用电/窃电处理通知单
    POWER_SUPPLY_CONTRACT = "power_supply_contract"  # 供用电合同
    FEE_PAYMENT_AGREEMENT = "fee_payment_agreement"  # 电费交纳协议
    ARREARS_REPAYMENT_AGREEMENT = "arrears_repayment_agreement"  # 欠费还款协议
    LATE_FEE_REPAYMENT_AGREEMENT = "late_fee_repayment_agreement"  # 违约金还款协议
    OUTAGE_NOTICE = "outage_notice"  # 停电通知单
    LATE_FEE_WAIVER = "late_fee_waiver"  # 违约金减免申请及审批
    REFUND_CALCULATION_SHEET = "refund_calculation_sheet"  # 退减电量电费核算单
    SERVICE_CHANGE_SHEET = "service_change_sheet"  # 报停/启用/轮换表/拆表单
    INCIDENT_SHEET = "incident_sheet"  # 事故处理工作单
    HANDOVER_RECORD = "handover_record"  # 交接记录
    COMPLAINT_RECORD = "complaint_record"  # 客户投诉档案: a closed complaint, report or meter dispute (95598)
    SUPPLY_PLAN_REPLY = "supply_plan_reply"  # 供电方案答复单 (business handling)
    DESIGN_REVIEW_OPINION = "design_review_opinion"  # 设计文件审查意见 (business handling)
    INTERIM_CHECK_RECORD = "interim_check_record"  # 中间检查记录 (business handling)


DOC_TYPE_LABELS_ZH: dict[str, str] = {
    "customer_application": "用电申请",
    "application_form": "用电申请报装单",
    "engineering_survey": "工程勘测单",
    "power_of_attorney": "客户委托书",
    "business_survey": "营业勘测单",
    "test_report": "试验报告",
    "construction_registration": "工程施工登记表",
    "installation_record": "安装调试记录",
    "box_substation_record": "箱变资料",
    "completion_acceptance_report": "工程竣工验收报告",
    "acceptance_work_order": "工程验收工作单",
    "new_install_work_order": "新装增容工作单",
    "usage_record_sheet": "用户用电档案单",
    "inspection_sheet": "用电检查单",
    "misc_work_order": "杂项工作单",
    "violation_notice": "违约用电/窃电处理通知单",
    "power_supply_contract": "供用电合同",
    "fee_payment_agreement": "电费交纳协议",
    "arrears_repayment_agreement": "欠费还款协议",
    "late_fee_repayment_agreement": "违约金还款协议",
    "outage_notice": "停电通知单",
    "late_fee_waiver": "违约金减免申请及审批",
    "refund_calculation_sheet": "退减电量电费核算单",
    "service_change_sheet": "报停/启用/轮换表/拆表单",
    "incident_sheet": "事故处理工作单",
    "handover_record": "交接记录",
    "complaint_record": "客户投诉档案",
    "supply_plan_reply": "供电方案答复单",
    "design_review_opinion": "设计文件审查意见",
    "interim_check_record": "中间检查记录",
}


class WritingMaterial(enum.StrEnum):
    PRINT = "print"  # 打印
    CARBON_INK = "carbon_ink"  # 碳素墨水
    BLUE_BLACK_INK = "blue_black_ink"  # 蓝黑墨水
    BALLPOINT = "ballpoint"  # 圆珠笔
    PURE_BLUE_INK = "pure_blue_ink"  # 纯蓝墨水
    CARBON_COPY = "carbon_copy"  # 复写纸
    PENCIL = "pencil"  # 铅笔
    THERMAL_PAPER = "thermal_paper"  # 热敏纸


# Not allowed for documents kept long-term (docs/archive.md); the audit reads this.
FORBIDDEN_MATERIALS = frozenset(
    {
        WritingMaterial.BALLPOINT,
        WritingMaterial.PURE_BLUE_INK,
        WritingMaterial.CARBON_COPY,
        WritingMaterial.PENCIL,
        WritingMaterial.THERMAL_PAPER,
    }
)


class PaperSize(enum.StrEnum):
    A4 = "A4"
    A3 = "A3"
    OTHER = "other"


class Retention(enum.StrEnum):
    PERMANENT = "permanent"  # 永久
    THIRTY_YEARS = "30y"  # 30年
    TEN_YEARS = "10y"  # 10年


RETENTION_LABELS_ZH = {"permanent": "永久", "30y": "30年", "10y": "10年"}


class IndexStatus(enum.StrEnum):
    PENDING = "pending"
    INDEXED = "indexed"
    FAILED = "failed"


class DocumentEventKind(enum.StrEnum):
    WITHDRAWN = "withdrawn"  # 撤出 (the document stays, marked withdrawn)
    CORRECTED = "corrected"  # 著录项更正: metadata corrected, the original kept
