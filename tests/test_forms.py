"""riskhub's select list and attribute writer write the same markup as WTForms' own, escaping
what users typed."""

from __future__ import annotations

from typing import Any

import wtforms
import wtforms.widgets.core
from markupsafe import Markup
from wtforms.form import Form

from riskhub.forms import fields
from riskhub.forms.fields import SelectField

CHOICES = [("a\"<&'>", "Women's Aid & <Refuge> \"North\""), ("", "No named person"), ("2", "Two"),
           ("3", "")]


def test_select_options_match_wtforms_and_escape_names() -> None:
    class Choose(Form):
        ours = SelectField("Agency", choices=CHOICES, default="2")
        theirs = wtforms.SelectField("Agency", choices=CHOICES, default="2")
        marked = SelectField("Agency", choices=[("1", "One", {"disabled": True}), ("2", "Two")])
        marked_theirs = wtforms.SelectField("Agency", choices=[("1", "One", {"disabled": True}), ("2", "Two")])

    form = Choose()
    ours, theirs = str(form.ours()), str(form.theirs())
    assert ours.replace('"ours"', '"theirs"') == theirs
    assert "<Refuge>" not in ours and "&lt;Refuge&gt;" in ours and '<option selected value="2">Two</option>' in ours
    assert '<option value="3">3</option>' in ours  # an empty label shows the value, as before
    assert str(form.marked()).replace('"marked"', '"marked_theirs"') == str(form.marked_theirs())


def test_a_bad_choice_is_refused_as_before() -> None:
    class Choose(Form):
        agency = SelectField("Agency", choices=CHOICES)

    form = Choose(formdata=_FormData(agency="not-offered"))
    assert not form.validate()
    assert form.agency.errors == ["Not a valid choice."]


class _FormData(dict[str, str]):
    def getlist(self, key: str) -> list[str]:
        return [self[key]] if key in self else []


def test_controls_attributes_are_written_as_wtforms_writes_them() -> None:
    typed = "Ann \"Nan\" <b>O'Neil</b> & co"
    samples: list[dict[str, Any]] = [
        {"id": "note", "name": "note", "required": True, "class_": "textarea", "rows": 5},
        {"type": "hidden", "name": "csrf_token", "value": typed},
        {"data_module": "x", "aria_describedby": "note-hint note-error", "checked": False, "for_": "f"},
        {"value": Markup('already "marked" <i>up</i>'), "title": None, "maxlength": 0, "disabled": True},
        {typed: "name typed"},
    ]
    holders = [wtforms.widgets.core, wtforms.widgets, *(widget for widget in vars(wtforms.widgets.core).values()
                                                         if isinstance(widget, type) and "html_params" in vars(widget))]
    assert len(holders) >= 4 and all(holder.html_params is fields.html_params for holder in holders)
    for sample in samples:
        ours, theirs = fields.html_params(**sample), fields._WTFORMS_HTML_PARAMS(**sample)
        assert ours == theirs and isinstance(ours, Markup)
    assert "<b>" not in fields.html_params(value=typed)

    class Note(Form):
        text = wtforms.TextAreaField("Note")
        flag = wtforms.BooleanField("Flag", default=True)

    form = Note(data={"text": typed})
    assert str(form.text(rows=3)) == f'<textarea id="text" name="text" rows="3">\r\n{Markup.escape(typed)}</textarea>'
    assert str(form.flag()) == '<input checked id="flag" name="flag" type="checkbox" value="y">'
