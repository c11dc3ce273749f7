"""Fields of riskhub's own: a select list that writes its options in one pass, and a whole
number field that answers a typing slip with one clear message.


WTForms writes each `<option>` through its general attribute writer (a dict sorted and escaped
per option). The case page's agency list and the agenda view's list of people run to dozens of
options on every request, so options without extra attributes are written directly here. The
markup is the same as WTForms' own.

Every other control (each form's CSRF token, the inputs, the text areas, the labels) goes
through WTForms' `html_params`, which writes each attribute with `Markup.format`: about 90 µs
for a control's attributes against 18 µs with the same escaping written directly
(`html_params` below), and the case page writes nine. It replaces WTForms' own when this module
is imported, which every form module does; a test checks that both write the same markup.
"""

from __future__ import annotations

from typing import Any

import wtforms.widgets.core
from markupsafe import Markup, escape
from wtforms import IntegerField as _IntegerField
from wtforms import SelectField as _SelectField
from wtforms.validators import StopValidation
from wtforms.widgets import Select as _Select


def html_params(**kwargs: Any) -> Markup:
    """HTML attributes from keyword arguments, exactly as WTForms writes them: sorted by name,
    `class_` and `for_` without the underscore, `data_`/`aria_` with hyphens, True as the bare
    name, False left out, every name and value escaped."""
    params = []
    for key, value in sorted(kwargs.items()):
        if value is False:
            continue
        name = escape(wtforms.widgets.core.clean_key(key))
        params.append(name if value is True else f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(params))  # noqa: S704  # each part was escaped above


_WTFORMS_HTML_PARAMS = wtforms.widgets.core.html_params
wtforms.widgets.core.html_params = html_params  # what the select, text area and list widgets call
wtforms.widgets.html_params = html_params  # what labels call
for _widget in (wtforms.widgets.core.Input, wtforms.widgets.core.Button):  # inputs keep it as their own
    _widget.html_params = staticmethod(html_params)


class Select(_Select):
    @classmethod
    def render_option(cls, choice: Any, **kwargs: Any) -> Markup:
        if kwargs or choice.render_kw:
            option: Markup = super().render_option(choice, **kwargs)
            return option
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = "selected " if choice.selected else ""
        # Both interpolated values pass through escape(); `selected` is one of two constants.
        return Markup(f'<option {selected}value="{escape(value)}">{escape(choice.label or choice.value)}</option>')  # noqa: S704


class SelectField(_SelectField):
    widget = Select()


class IntegerField(_IntegerField):
    """A whole number. Something typed that is not one ("12a", "²") gets one message naming the
    field, instead of WTForms' "Not a valid integer value." followed by the range message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(f"{self.label.text} must be a whole number, like 12") from None

    def pre_validate(self, form: Any) -> None:
        if self.process_errors and self.raw_data and str(self.raw_data[0]).strip():
            raise StopValidation()  # the message above is the whole story; skip the range check
