"""Forms of the push settings page."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired, Length

from app.forms import Form
from app.notifications.push import TOPIC_LABELS


class SubscribeForm(Form):
    """What the browser's PushManager.subscribe() gave (posted by static/js/push.js)."""

    endpoint = HiddenField(validators=[DataRequired(), Length(max=1000)])
    p256dh = HiddenField(validators=[DataRequired(), Length(max=100)])
    auth = HiddenField(validators=[DataRequired(), Length(max=40)])


class TopicsForm(Form):
    """Which notifications reach my phones."""

    dispatch = BooleanField(TOPIC_LABELS["dispatch"])
    alarm_late = BooleanField(TOPIC_LABELS["alarm_late"])
    key_overdue = BooleanField(TOPIC_LABELS["key_overdue"])
    briefing = BooleanField(TOPIC_LABELS["briefing"])

    def wanted(self) -> set[str]:
        return {name for name in TOPIC_LABELS if self[name].data}
