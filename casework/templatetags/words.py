"""``{% load words %}``: codes in words (``casework.labels``) for every template.

``{{ row.transition|words:"transition" }}``; to prefer one model's words, name it after a colon:
``{{ t.name|words:"transition:courtwatch.brief" }}``. ``{{ obj.version|version }}`` says "version 3".
"""

from django import template

from casework import labels

register = template.Library()


@register.filter(name="words")
def words(code, kind="state"):
    kind, _sep, model = str(kind).partition(":")
    return labels.words(kind, code, model or None)


@register.filter(name="version")
def version(number):
    return labels.version(number)
