"""checklist version 2 and applicability by system type

Issue 13 (items 1 and 2). Items get the system type they concern (`system_type`: intrusion,
access, cctv, fire, panic; NULL for an item every site answers): an item for a system the site
does not have is not applicable by itself, not asked and not scored. Items get `hint_source`,
the records a hint beside them comes from (the version-1 training item keeps its hint).

Version 2 of the default checklist (shared/seed/CHECKLIST.md, read by a Taiwan system-security
reader against BGM1349-001v3 and 保全業法) is installed beside version 1 and becomes the version
new inspections use. Version 1 and the inspections run with it stay as they were: its items get
no system type (always applicable) and keep their wording, codes and ranges.

Revision ID: c4a9e2f7b1d3
Revises: d84f1ad8cdf8
Create Date: 2026-11-26 07:10:00.000000

"""
import datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a9e2f7b1d3'
down_revision = 'd84f1ad8cdf8'
branch_labels = None
depends_on = None

V2_NAME_ZH = "系統保全管控查核表"
V2_NAME_EN = "System security control checklist"

# The default checklist, version 2, frozen here. Fields: indicator, knowledge, kind,
# (passing min, max, unit, input min, input max) for numbers, a spare field (None), equipment
# kind, photo on fail,
# system type, hint source, zh, en. Sections follow the items' order (grouped by indicator).
PF, NA, NUM, TEXT = "pass_fail", "pass_fail_na", "number", "text"
V2_ITEMS = [
    ("P3.2.1", "K07", PF, None, None, None, False, None, None,
     "機動保全人員於規定時間內抵達案場（最近一次警報）",
     "Mobile guards reached the site within the required time (last alarm)"),
    ("P3.2.1", "K10", PF, None, None, None, False, None, None,
     "巡邏簽到紀錄完整且準時", "Patrol check-ins complete and on time"),
    ("P3.2.1", "K10", PF, None, None, None, False, None, None,
     "人員服儀、識別證及裝備符合規定", "Guard uniform, ID badge and equipment as required"),
    ("P3.2.1", "K10", PF, None, None, None, False, None, None,
     "交接班紀錄清楚完整", "Shift handover recorded clearly"),
    ("P3.2.1", "K07", PF, None, None, None, False, None, None,
     "巡迴服務車裝備齊全（保全業法第 14 條）",
     "The patrol vehicle's equipment is complete (Security Industry Act §14)"),
    ("P3.2.1", "K09", PF, None, None, None, False, "intrusion", None,
     "設定／解除裝置正常；近 30 日設定／解除紀錄與營業時間相符",
     "Arm/disarm device works; the last 30 days of arm/disarm records match business hours"),
    ("P3.2.2", "K09", PF, None, None, "control_panel", True, "intrusion", None,
     "保全主機運作正常，無故障或斷線訊號", "Alarm control panel normal, no fault or line-cut signal"),
    ("P3.2.2", "K08", NUM, (13.0, 14.0, "V", 0.0, 30.0), None, "battery", True, "intrusion", None,
     "備用電池電壓（市電供電時，V）", "Backup battery voltage on mains power (V)"),
    ("P3.2.2", "K09", PF, None, None, "control_panel", True, "intrusion", None,
     "拔除市電後主機轉由備用電池供電，監控中心收到「交流電異常」訊號",
     "With mains power removed the panel runs on its battery and the monitoring centre receives \"AC fail\""),
    ("P3.2.2", "K03", PF, None, None, "detector", True, "intrusion", None,
     "各防區感知器步測正常，無長期旁路防區",
     "Every zone's detectors walk-tested OK, no zone bypassed for long"),
    ("P3.2.2", "K03", PF, None, None, "other", True, "intrusion", None,
     "警報器（警鈴／閃光）鳴響正常", "Siren and strobe sound and flash"),
    ("P3.2.2", "K03", PF, None, None, "panic_button", True, "panic", None,
     "緊急押扣測試正常", "Panic buttons tested OK"),
    ("P3.2.2", "K09", PF, None, None, None, True, None, None,
     "傳訊雙迴路（電話線／4G／網路）測試正常",
     "Dual-path signalling (phone line / 4G / internet) tested OK"),
    ("P3.2.2", "K09", PF, None, None, "cctv", True, "cctv", None,
     "監視攝影機錄影正常、畫面清晰", "CCTV records, image clear"),
    ("P3.2.2", "K12", NUM, (30.0, None, "", 0.0, 3650.0), None, "cctv", True, "cctv", None,
     "錄影保存天數（天），不少於合約天數", "CCTV retention (days), at least the contract's"),
    ("P3.2.2", "K09", PF, None, None, "cctv", True, "cctv", None,
     "錄影主機硬碟正常、時間正確", "Recorder disk healthy and its clock right"),
    ("P3.2.2", "K12", PF, None, None, "cctv", False, "cctv", None,
     "錄影主機（DVR）密碼已變更，非出廠預設", "Recorder (DVR) password changed from the factory default"),
    ("P3.2.2", "K12", NA, None, None, None, False, "cctv", None,
     "影像調閱均有登記", "Every footage request is logged"),
    ("P3.2.2", "K03", PF, None, None, "access_control", True, "access", None,
     "門禁系統運作正常", "Access control works"),
    ("P3.2.2", "K08", NA, None, None, None, True, None, None,
     "發現之設備異常均已報修", "Every equipment fault found has been reported for repair"),
    ("P3.2.3", "K01", NA, None, None, None, False, None, None,
     "前次查核缺失已改善", "Findings of the last inspection corrected"),
    ("P3.2.3", "K12", PF, None, None, None, False, None, None,
     "管控紀錄文件完整並妥善保存", "Control records complete and properly kept"),
    ("P3.2.3", "K01", PF, None, None, None, False, None, None,
     "本次查核結果已告知業主聯絡人", "Result of this inspection told to the client's contact"),
    ("P3.2.3", "K01", PF, None, None, None, False, None, None,
     "管控紀錄已回報公司相關單位", "Control records reported to the company's own units"),
    ("P3.3.1", "K13", PF, None, None, None, False, None, "training",
     "機動保全人員急救訓練在有效期內", "Mobile guards' first-aid training is current"),
    ("P3.3.1", "K14", PF, None, None, None, False, None, "training",
     "機動保全人員消防訓練在有效期內", "Mobile guards' fire-safety training is current"),
    ("P3.3.1", "K13", PF, None, None, None, False, None, None,
     "人員知悉急救箱及 AED 位置", "Guards know where the first-aid kit and the AED are"),
    ("P3.3.1", "K06", PF, None, None, None, False, None, "training_hours",
     "本月在職訓練每人達 4 小時以上（保全業法第 10 條之 2）",
     "This month's on-the-job training is at least 4 hours per guard (Security Industry Act §10-2)"),
    ("P3.3.1", "K11", PF, None, None, None, False, None, None,
     "人員能正確說明緊急應變程序（抽問）", "Guards explain the emergency procedure correctly (spot question)"),
    ("P3.3.2", "K11", PF, None, None, None, False, None, None,
     "緊急聯絡名冊為最新版本", "Emergency contact list is current"),
    ("P3.3.2", "K11", PF, None, None, None, False, None, None,
     "轄區派出所、消防分隊電話張貼於主機旁",
     "The local police station's and fire station's numbers are posted at the panel"),
    ("P3.3.2", "K11", PF, None, None, None, False, None, None,
     "無線電、手機等通訊設備正常", "Radios and phones work"),
    ("P3.3.3", "K09", PF, None, None, None, False, None, None,
     "系統事件紀錄已同步至管理系統", "System event log synchronised to the management system"),
    ("P3.3.4", "K12", PF, None, None, None, False, None, None,
     "鑰匙、密碼等機密資料保管妥善，無外洩", "Keys, codes and other secrets kept safe, nothing disclosed"),
    ("P3.3.4", "K12", PF, None, None, None, False, None, None,
     "寄存鑰匙封袋完整，與鑰匙清冊相符，領用／歸還均有登記",
     "Deposited-key bags sealed and matching the key list; every take-out and return logged"),
    ("P3.3.4", "K12", PF, None, None, None, False, "access", None,
     "門禁持卡名冊已與業主核對，離職人員卡片已註銷",
     "Access-card roster checked with the client; leavers' cards cancelled"),
    ("P3.3.4", "K15", PF, None, None, None, False, None, "pledges",
     "全員已簽署保密切結書", "Every guard has signed the confidentiality pledge"),
    ("P3.3.4", "K15", PF, None, None, None, False, None, None,
     "現場無個人資料文件任意放置", "No personal-data documents left lying on site"),
    ("P3.1.1", "K04", PF, None, None, None, False, None, None,
     "現場無職業安全衛生危害", "No occupational safety hazard seen on site"),
    ("P3.1.1", "K14", PF, None, None, None, False, None, None,
     "滅火器壓力及有效期限正常、逃生通道暢通",
     "Extinguishers within date and pressure, escape routes clear"),
    ("P3.1.2", "K11", PF, None, None, None, False, None, None,
     "緊急應變計畫為最新版本", "The emergency plan is current"),
    ("P3.1.2", "K11", TEXT, None, None, None, False, None, None,
     "最近一次演練日期", "Date of the last emergency drill"),
]

template = sa.table(
    "checklist_template",
    sa.column("id", sa.Integer), sa.column("key", sa.String), sa.column("version", sa.Integer),
    sa.column("name_zh", sa.String), sa.column("name_en", sa.String),
    sa.column("is_active", sa.Boolean), sa.column("created_at", sa.DateTime(timezone=True)),
)
item = sa.table(
    "checklist_item",
    sa.column("id", sa.Integer),
    sa.column("template_id", sa.Integer), sa.column("position", sa.Integer),
    sa.column("indicator", sa.String), sa.column("knowledge", sa.String),
    sa.column("text_zh", sa.String), sa.column("text_en", sa.String), sa.column("kind", sa.String),
    sa.column("min_value", sa.Float), sa.column("max_value", sa.Float), sa.column("unit", sa.String),
    sa.column("input_min", sa.Float), sa.column("input_max", sa.Float),
    sa.column("choices", sa.Text), sa.column("is_required", sa.Boolean),
    sa.column("note_on_fail", sa.Boolean), sa.column("photo_on_fail", sa.Boolean),
    sa.column("weight", sa.Float), sa.column("equipment_kind", sa.String),
    sa.column("system_type", sa.String), sa.column("hint_source", sa.String),
    sa.column("is_retired", sa.Boolean),
)


def upgrade():
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('system_type', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('hint_source', sa.String(length=20), nullable=True))

    bind = op.get_bind()
    # The training item of earlier versions (K13, first aid and fire) keeps its hint.
    op.execute(item.update().where(item.c.knowledge.like("%K13%")).values(hint_source="training"))

    # Version 2 after whatever versions exist (an administrator's edits may have made some).
    latest = bind.execute(
        sa.select(sa.func.max(template.c.version)).where(template.c.key == "default")
    ).scalar()
    op.execute(template.update().where(template.c.key == "default").values(is_active=False))
    template_id = bind.execute(
        template.insert()
        .values(
            key="default", version=(latest or 0) + 1, name_zh=V2_NAME_ZH, name_en=V2_NAME_EN,
            is_active=True, created_at=datetime.datetime.now(datetime.UTC),
        )
        .returning(template.c.id)
    ).scalar_one()
    rows = []
    for n, (ind, know, kind, number, _unused, equipment, photo, system, hint, zh, en) in enumerate(
        V2_ITEMS, 1
    ):
        low, high, unit, in_low, in_high = number or (None, None, "", None, None)
        rows.append({
            "template_id": template_id, "position": n, "indicator": ind, "knowledge": know,
            "text_zh": zh, "text_en": en, "kind": kind, "min_value": low, "max_value": high,
            "unit": unit, "input_min": in_low, "input_max": in_high, "choices": "",
            "is_required": True, "note_on_fail": True, "photo_on_fail": photo, "weight": 1.0,
            "equipment_kind": equipment, "system_type": system, "hint_source": hint,
            "is_retired": False,
        })
    op.bulk_insert(item, rows)


def downgrade():
    # Version 2 goes (refused while inspections use it: they reference its items) and the
    # version before it is the active one again.
    bind = op.get_bind()
    v2 = bind.execute(
        sa.select(template.c.id, template.c.version)
        .where(template.c.key == "default", template.c.is_active.is_(True))
    ).first()
    if v2 is not None and bind.execute(
        sa.select(sa.func.count()).select_from(item).where(
            item.c.template_id == v2.id, item.c.system_type.is_not(None)
        )
    ).scalar():
        op.execute(item.delete().where(item.c.template_id == v2.id))
        op.execute(template.delete().where(template.c.id == v2.id))
        previous = bind.execute(
            sa.select(sa.func.max(template.c.version)).where(template.c.key == "default")
        ).scalar()
        if previous is not None:
            op.execute(
                template.update()
                .where(template.c.key == "default", template.c.version == previous)
                .values(is_active=True)
            )
    with op.batch_alter_table('checklist_item', schema=None) as batch_op:
        batch_op.drop_column('hint_source')
        batch_op.drop_column('system_type')
