"""Assessment forms as versioned data, and how each is scored.

Forms live as JSON beside this file (riskhub's own wording); an area may add its licensed
wording as JSON files in `instance/assessments/`. A new version never replaces an old one:
every stored assessment names the form key and version it was answered on.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

SURVIVOR_SIDE = "survivor"
PERPETRATOR_SIDE = "perpetrator"
SIDES = (SURVIVOR_SIDE, PERPETRATOR_SIDE)

# One scale for comparing the two sides: standard (survivor) and low (perpetrator) are alike.
LEVEL_RANK = {"standard": 0, "low": 0, "medium": 1, "high": 2}
LEVEL_LABELS = {"standard": "Standard", "low": "Low", "medium": "Medium", "high": "High"}


class TemplateError(ValueError):
    """A form file is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class Item:
    id: str
    text: str
    area: str = ""


@dataclass(frozen=True)
class Template:
    """One version of one assessment form."""

    key: str
    version: int
    side: str
    title: str
    description: str
    method: str  # "count": score = number of counted answers, banded; "judgement": assessor's level
    answers: tuple[tuple[str, str], ...]
    items: tuple[Item, ...]
    bands: tuple[tuple[str, int], ...] = ()
    levels: tuple[str, ...] = ()
    counted_answer: str = "yes"
    source_prompt: str = ""
    police_callouts: bool = False
    firearms_question: str = ""
    areas: tuple[str, ...] = field(default=())

    @property
    def answer_values(self) -> frozenset[str]:
        return frozenset(value for value, _ in self.answers)

    def answer_label(self, value: str | None) -> str:
        return dict(self.answers).get(value or "", "Not answered")

    def score(self, answers: Mapping[str, str]) -> int:
        """Count of counted answers (checklists) or sum of ratings (judgement forms)."""
        if self.method == "count":
            return sum(1 for item in self.items if answers.get(item.id) == self.counted_answer)
        given = {i.id: str(answers.get(i.id, "")) for i in self.items}
        return sum(int(value) for value in given.values() if value.isascii() and value.isdigit())

    def band_for(self, score: int, thresholds: Mapping[str, int] | None = None) -> str:
        """The level a checklist score falls in, with deployment thresholds applied."""
        bands = [(level, (thresholds or {}).get(level, start)) for level, start in self.bands]
        level = bands[0][0]
        for name, start in sorted(bands, key=lambda b: b[1]):
            if score >= start:
                level = name
        return level


def _parse(data: dict[str, Any], origin: str) -> Template:
    try:
        method = data["method"]
        if method not in {"count", "judgement"}:
            raise TemplateError(f"{origin}: method must be 'count' or 'judgement'")
        if data["side"] not in SIDES:
            raise TemplateError(f"{origin}: side must be one of {', '.join(SIDES)}")
        if "areas" in data:
            items = tuple(Item(i["id"], i["text"], area["title"]) for area in data["areas"] for i in area["items"])
            areas = tuple(area["title"] for area in data["areas"])
        else:
            items = tuple(Item(i["id"], i["text"]) for i in data["items"])
            areas = ()
        template = Template(
            key=data["key"], version=int(data["version"]), side=data["side"], title=data["title"],
            description=data.get("description", ""), method=method,
            answers=tuple((a["value"], a["label"]) for a in data["answers"]), items=items,
            bands=tuple((b["level"], int(b["from"])) for b in data.get("bands", [])),
            levels=tuple(data.get("levels", [])), counted_answer=data.get("counted_answer", "yes"),
            source_prompt=data.get("source_prompt", ""), police_callouts=bool(data.get("police_callouts")),
            firearms_question=data.get("firearms_question", ""), areas=areas,
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, TemplateError):
            raise
        raise TemplateError(f"{origin}: {error!r} is missing or malformed") from None
    ids = [item.id for item in template.items]
    if len(ids) != len(set(ids)):
        raise TemplateError(f"{origin}: item ids must be unique")
    if method == "count" and not template.bands:
        raise TemplateError(f"{origin}: a checklist needs bands")
    if method == "judgement" and not set(template.levels) <= set(LEVEL_RANK):
        raise TemplateError(f"{origin}: levels must be among {', '.join(LEVEL_RANK)}")
    return template


class Catalogue:
    """Every loaded form version, by key and version."""

    def __init__(self, templates: list[Template]) -> None:
        self._by_id = {(t.key, t.version): t for t in templates}

    def get(self, key: str, version: int) -> Template:
        try:
            return self._by_id[(key, version)]
        except KeyError:
            raise TemplateError(f"assessment form {key} version {version} is not installed") from None

    def current(self, side: str, key: str | None = None) -> Template:
        """The newest version of the side's form (or of the form `key`): new assessments use it."""
        candidates = [t for t in self._by_id.values() if t.side == side and (key is None or t.key == key)]
        if not candidates:
            raise TemplateError(f"no assessment form {key or ''} is installed for the {side} side")
        return max(candidates, key=lambda t: (t.key, t.version))

    def __iter__(self) -> Iterator[Template]:
        return iter(sorted(self._by_id.values(), key=lambda t: (t.side, t.key, t.version)))


def load_catalogue(extra_dir: str | Path | None = None) -> Catalogue:
    """Load the packaged forms and any in `extra_dir` (an area's own versions)."""
    templates = []
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            templates.append(_parse(json.loads(entry.read_text(encoding="utf-8")), entry.name))
    if extra_dir and Path(extra_dir).is_dir():
        for path in sorted(Path(extra_dir).glob("*.json")):
            templates.append(_parse(json.loads(path.read_text(encoding="utf-8")), str(path)))
    return Catalogue(templates)
