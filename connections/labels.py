"""Chinese names of business handling's codes, for the papers it files (the pages translate through Babel)."""

from __future__ import annotations

from typing import Any

TYPE_ZH = {
    "new_lv_residential": "低压居民新装",
    "new_lv_business": "低压非居民新装",
    "new_hv_single": "高压新装（单电源）",
    "new_hv_dual": "高压新装（双电源）",
    "capacity_increase": "增容",
    "capacity_reduction": "减容",
    "suspension": "暂停",
    "resumption": "暂停恢复",
    "name_change": "更名",
    "transfer": "过户",
    "category_change": "改类",
    "closure": "销户",
}
STEP_ZH = {
    "acceptance": "受理",
    "site_survey": "现场勘查",
    "supply_plan": "供电方案答复",
    "design_review": "设计文件审查",
    "interim_check": "中间检查",
    "completion_check": "竣工检验",
    "contract": "签订供用电合同",
    "connection": "装表接电",
    "execution": "变更实施",
    "archiving": "归档",
}
UPLOAD_ZH = {"id_card": "身份证", "business_licence": "营业执照", "property_proof": "产权证明", "other": "其他资料"}
CATEGORY_ZH = {"residential": "居民", "general": "一般工商业", "large_industrial": "大工业", "agricultural": "农业"}
FIELD_ZH = {
    "note": "说明",
    "findings": "勘查意见",
    "voltage": "供电电压",
    "capacity_kva": "核定容量（kVA）",
    "source_count": "电源数",
    "metering": "计量方式",
    "result": "结论",
    "contract_no": "合同编号",
    "meter_no": "电能表编号",
    "connected_on": "接电日期",
    "tariff_code": "电价代码",
    "handed_over_on": "移交日期",
}
_VALUES_ZH = {
    "passed": "合格",
    "failed": "不合格",
    "high_supply_high_metering": "高供高计",
    "high_supply_low_metering": "高供低计",
    "low_supply_low_metering": "低供低计",
}


def field_value(name: str, value: Any) -> str:
    return _VALUES_ZH.get(str(value), str(value))
