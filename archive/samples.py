"""Generated Chinese documents in the domain's vocabulary (demo data, tests and the benchmark)."""

from __future__ import annotations

import io
import random

SENTENCES = [
    "客户{holder}于{date}向供电公司提出新装用电申请，申请容量{kva}千伏安，用电地址为{address}。",
    "经营业勘测，现场具备供电条件，拟由10千伏线路接入，计量方式为高供高计。",
    "双方签订供用电合同，明确产权分界点、电费结算方式及违约责任，合同有效期五年。",
    "客户承诺按月足额交纳电费，逾期未交的，按规定加收电费违约金。",
    "用电检查人员现场检查发现计量装置封印完好，未发现违约用电及窃电行为。",
    "工程竣工验收合格，安装调试记录齐全，同意装表接电。",
    "因线路检修，计划于{date}停电，停电范围包括户号{account}所在台区。",
    "客户申请电费违约金减免，经审批同意减免部分违约金，审批意见附后。",
    "退减电量电费核算单已复核，退补金额经营销部审核确认。",
    "交接记录载明资料份数、移交人和接收人，档案员已签收。",
    "新装增容工作单流转完毕，业务资料按一户一档要求归档。",
    "箱式变电站出厂试验报告及交接试验报告合格。",
    "客户委托书载明委托人、受托人及委托事项，签章齐全。",
    "欠费还款协议约定分三期偿还欠缴电费，首期于本月底前交清。",
    "事故处理工作单记录故障原因为电缆终端头击穿，已抢修恢复供电。",
    "报停期间基本电费按规定核减，启用时重新核定运行容量。",
]
HOLDERS = [
    "张伟",
    "王芳",
    "李娜",
    "杭州明辉纺织有限公司",
    "浙江华顺机械制造有限公司",
    "西湖区农业合作社",
    "刘强",
    "陈静",
]


def chinese_text(rng: random.Random, target_chars: int, **fields: str) -> str:
    """About ``target_chars`` characters of domain prose (sentences drawn at random, fields filled in)."""
    values = {
        "holder": rng.choice(HOLDERS),
        "date": f"{rng.randint(2015, 2026)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日",
        "kva": str(rng.choice([8, 50, 100, 200, 315, 400, 630, 1250])),
        "address": f"杭州市西湖区文三路{rng.randint(1, 999)}号",
        "account": f"33010{rng.randint(1, 99999):05d}",
    }
    values.update(fields)
    parts: list[str] = []
    length = 0
    while length < target_chars:
        sentence = rng.choice(SENTENCES).format(**values)
        parts.append(sentence)
        length += len(sentence)
    return "".join(parts)


def text_pdf(title: str, body: str, *, pages: int = 1) -> bytes:
    """A small A4 PDF with a Chinese text layer (the embedded CJK font of the dossier PDF)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import PageBreak, SimpleDocTemplate

    from core.pdf import literal
    from core.pdf import register_font as _register_font

    font = _register_font()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, title=title)
    heading = ParagraphStyle("h", fontName=font, fontSize=16, leading=22, alignment=1)
    style = ParagraphStyle("b", fontName=font, fontSize=11, leading=16, wordWrap="CJK")
    story: list[object] = []
    for number in range(pages):
        if number:
            story.append(PageBreak())
        story += [literal(title, heading), literal(body, style)]
    doc.build(story)
    return buffer.getvalue()


def scan_image(lines: list[str], *, fmt: str = "PNG") -> bytes:
    """A 'scanned' page: black text on white rendered with WenQuanYi Zen Hei (for OCR)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 44, index=0)
    image = Image.new("L", (1400, 140 + 90 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((80, 70 + 90 * number), line, font=font, fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, dpi=(300, 300))
    return buffer.getvalue()
