"""riskhub's select list writes the same markup as WTForms' own, escaping what users typed."""

from __future__ import annotations

import wtforms
from wtforms.form import Form

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
