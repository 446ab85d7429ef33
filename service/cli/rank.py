"""`sscmatch rank`: rank offers for needs from a JSON file, without a database."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import pycountry
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from service import scoring
from service.cli.options import int_in, named_path, output_path, same_file, write_atomically
from service.cli.progress import progress_printer
from service.codes import upper_code
from service.countries.seed import (
    country_name,
    languages_of,
    reference_factors,
    reference_groupings,
)
from service.errors import Unprocessable, validation_message
from service.items.schemas import Status
from service.schemas import CleanText, Language
from service.scoring import Modality

MAX_TOP = 1_000_000


class RankItem(BaseModel):
    """One offer or need of the input file (the dev set's item shape)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    # An id is opaque and written back as given: callers join the result on it, so the
    # spaces trimmed from the other fields are part of it.
    id: Annotated[str, StringConstraints(strip_whitespace=False, min_length=1, max_length=200)]
    kind: Literal["offer", "need"]
    country: Annotated[str, Field(max_length=100)]
    factor: Annotated[str, Field(min_length=1, max_length=40)]
    language: Language
    modality: Modality = "technical_assistance"
    # The API's rules for free text: controls (NUL, escapes) and bidirectional overrides are
    # refused, line breaks and tabs kept; the texts are scored as the API would store them.
    title: Annotated[CleanText, Field(min_length=1, max_length=1000)]
    description: Annotated[CleanText, Field(max_length=20_000)] = ""
    target_population: Annotated[CleanText, Field(max_length=1000)] = ""
    capacity: Annotated[int, Field(ge=1, le=1000)] | None = None
    status: Status = "published"

    @field_validator("country")
    @classmethod
    def _iso3(cls, value: str) -> str:
        code = upper_code(value)
        if len(code) == 3 and pycountry.countries.get(alpha_3=code) is not None:
            return code
        # Say what is taken, and the code meant when an alpha-2 code was given.
        alpha_2 = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
        hint = (f"it is the alpha-2 code of {country_name(alpha_2)}: write '{alpha_2.alpha_3}'"
                if alpha_2 is not None else "three letters, such as 'BRA'")
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-3 country code ({hint})")

    @field_validator("capacity", mode="before")
    @classmethod
    def _not_a_flag(cls, value: object, info: ValidationInfo) -> object:
        # Pydantic reads JSON true as 1 in an integer field: an exporter's flag or a slip
        # would become a capacity.
        if isinstance(value, bool):
            raise ValueError("a whole number of partners, not true or false")
        # Nor a text ("2", "1_0" would be 10), which the API refuses too: a column of the
        # wrong type. A whole number written 2.0 (an exporter's number column) is read.
        if isinstance(value, str):
            raise ValueError(f"a whole number of partners, not the text {value!r}")
        # null is refused in every field, as by the API; a need has no capacity, so a need's
        # null (a table exported with an empty capacity cell for its needs) is let pass.
        if value is None and info.data.get("kind") == "offer":
            raise ValueError("a whole number of partners from 1 to 1000, not null; leave the "
                             "key out when the capacity is unstated")
        return value

    @field_validator("factor")
    @classmethod
    def _known_factor(cls, value: str) -> str:
        # As exact as the API's check on create: codes are lower case, "ICT" is unknown.
        known = reference_factors()
        if value not in known:
            raise ValueError(f"Unknown accelerator factor '{value}'. Known: {', '.join(known)}.")
        return value

    def to_scoring(self) -> scoring.Item:
        return scoring.Item(id=self.id, kind=self.kind, country=self.country, factor=self.factor,
                            language=self.language, modality=self.modality, title=self.title,
                            description=self.description,
                            target_population=self.target_population,
                            capacity=self.capacity if self.kind == "offer" else None)


def load_items(path: Path) -> list[scoring.Item]:
    """Read and validate the items file; raise a clear error naming the item and field.
    Offers not `published` (drafts, withdrawn) are left out, as the API never proposes
    them; every need is kept, so that each gets its entry in the result."""
    return _load(path)[0]


def _load(path: Path) -> tuple[list[scoring.Item], set[str]]:
    """`load_items`, and the ids of the needs kept that are not published."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))  # a BOM is tolerated
    except FileNotFoundError:
        raise Unprocessable(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise Unprocessable(f"{path}: is a folder.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Unprocessable(f"{path}: not valid UTF-8 JSON ({exc}).") from None
    except ValueError:  # int() refuses a number of more digits than Python's limit
        raise Unprocessable(f"{path}: not valid UTF-8 JSON (a number has more than "
                            f"{sys.get_int_max_str_digits()} digits).") from None
    except RecursionError:
        raise Unprocessable(f"{path}: not an items file (JSON nested too deeply).") from None
    if not isinstance(raw, list):
        raise Unprocessable(f"{path}: expected a JSON list of offers and needs.")
    items: list[scoring.Item] = []
    unpublished: set[str] = set()
    seen: dict[str, int] = {}  # id -> the first item that has it, valid or not
    problems: list[str] = []
    for n, entry in enumerate(raw):
        label = f"item {n}"
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            label += f" (id {entry['id']!r})"  # quoted as Python would: a control shows
        if not isinstance(entry, dict):
            problems.append(f"{label}: expected an object")
            continue
        # An id is taken as written (never trimmed): a duplicate is found before the item is
        # validated, so that one run names it beside the first item's other problems.
        if isinstance(entry.get("id"), str):
            first = seen.setdefault(entry["id"], n)
            if first != n:
                problems.append(f"{label}: duplicate id (item {first} has it too)")
                continue
        try:
            item = RankItem.model_validate(entry)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "item"
                problems.append(f"{label}: field '{field}': {validation_message(err)}")
            continue
        if item.kind == "need" or item.status == "published":
            items.append(item.to_scoring())
            if item.status != "published":
                unpublished.add(item.id)
    if problems:
        shown = "\n  ".join(problems[:50])
        more = f"\n  ... and {len(problems) - 50} more" if len(problems) > 50 else ""
        raise Unprocessable(f"{path}: {len(problems)} invalid item(s):\n  {shown}{more}")
    return items, unpublished


def offline_context(items: Sequence[scoring.Item]) -> scoring.Context:
    """Context from the packaged reference data (groupings, CLDR languages); no database."""
    groups: dict[str, set[str]] = {}
    for entry in reference_groupings():
        for iso3 in entry["members"]:
            groups.setdefault(iso3, set()).add(entry["code"])
    languages = {iso3: languages_of(iso3) for iso3 in sorted({i.country for i in items})}
    return scoring.Context(country_groups={k: frozenset(v) for k, v in groups.items()},
                           country_languages=languages,
                           factor_affinity=dict(scoring.DEFAULT_FACTOR_AFFINITY))


def rank_file(path: Path, top: int, *, show_progress: bool = True) -> dict[str, Any]:
    """Rank the K best offers of other countries for every need of the file."""
    items, unpublished = _load(path)
    needs = [i for i in items if i.kind == "need"]
    offers = [i for i in items if i.kind == "offer"]
    # What a country needs is read from its published needs only, as the API reads it: a
    # draft or withdrawn need is ranked for, but changes no reciprocity.
    profiles = scoring.profiles_of(offers, [n for n in needs if n.id not in unpublished])
    model = scoring.get_text_model()
    progress = progress_printer("encoding") if show_progress else None
    vectors = model.encode([scoring.item_text(i) for i in needs + offers], progress=progress)
    ranked = scoring.rank(needs, offers, weights=scoring.Weights(),
                          context=offline_context(items), top_k=top, model=model,
                          need_vectors=vectors[:len(needs)], offer_vectors=vectors[len(needs):],
                          profiles=profiles)
    return {
        need.id: [{"offer_id": s.offer_id, "score": round(s.total, 6),
                   "components": {k: round(v, 6) for k, v in s.components.items()}}
                  for s in ranked.get(need.id, [])]
        for need in needs
    }


def cmd_rank(args: argparse.Namespace) -> int:
    items = named_path(args.items, "--items")
    out = output_path(args.out) if args.out is not None else None  # checked before ranking
    if out is not None and same_file(out, items):
        raise Unprocessable(f"{out}: is the --items file; give another file for the result.")
    if out is None and sys.stdout is None:  # the shell closed it (`>&-`): print would drop it
        raise Unprocessable("standard output is closed; give --out FILE for the result.")
    result = rank_file(items, args.top, show_progress=not args.quiet)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if out is not None:
        write_atomically(out, (text + "\n").encode("utf-8"))
        print(f"ranked {len(result)} needs; wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def add_commands(sub: Any) -> None:
    """Register `rank`."""
    p = sub.add_parser("rank", help="rank offers for needs from a JSON items file (no database)")
    p.add_argument("--items", required=True, help="JSON list of offers and needs")
    p.add_argument("--top", type=int_in(1, MAX_TOP), default=10,
                   help=f"offers to keep per need (K, 1 to {MAX_TOP:,}; default: 10)")
    p.add_argument("--out", help="write the result here instead of stdout")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    # rank uses no database: the service's settings need not be usable (only DATABASE_URL's
    # file is protected from --out, see options.sqlite_file).
    p.set_defaults(func=cmd_rank, uses_settings=False)
