"""The JSON the commands print: protobuf's JSON mapping of the `crosswire.v1` messages.

One shape per message everywhere (a Sentence from `segment` is the same object
as one inside `align` or `compare` output, and as grpcurl shows it), described
by the comments in proto/crosswire/v1/. Field names as in the .proto; every
field is printed, except unset optional ones (e.g. `score`); enums by name.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from crosswire.convert import alignment_to_pb, comparison_to_pb, sentences_to_pb, translation_to_pb
from crosswire.types import Alignment, Comparison, Document, Translation


def message_dict(message: Message) -> dict[str, Any]:
    """A message as protobuf's JSON mapping, with the proto's field names and every field present."""
    record = json_format.MessageToDict(message, preserving_proto_field_name=True,
                                       always_print_fields_with_no_presence=True)
    return _in_field_order(message, record)


def _in_field_order(message: Message, record: dict[str, Any]) -> dict[str, Any]:
    """The record's keys in the .proto's order (json_format puts the fields left at their default last)."""
    ordered = {}
    for field in message.DESCRIPTOR.fields:
        if field.name not in record:
            continue
        value, nested = record[field.name], getattr(message, field.name)
        if field.message_type is not None:
            value = ([_in_field_order(m, v) for m, v in zip(nested, value)] if field.is_repeated
                     else _in_field_order(nested, value))
        ordered[field.name] = value
    return ordered


def dumps(record: dict[str, Any]) -> str:
    """One line of JSON, non-ASCII text kept readable."""
    return json.dumps(record, ensure_ascii=False)


def sentence_records(document: Document) -> list[dict[str, Any]]:
    """A document's crosswire.v1.Sentence messages, offsets in every unit included."""
    return [message_dict(message) for message in sentences_to_pb(document)]


def translation_record(name: str, translation: Translation) -> dict[str, Any]:
    """A crosswire.v1.TranslationResult, with the input it came from as "input"."""
    return {"input": name, **message_dict(translation_to_pb(translation))}


def alignment_record(alignment: Alignment, source_name: str) -> dict[str, Any]:
    """A crosswire.v1.AlignResponse."""
    return message_dict(alignment_to_pb(alignment, source_name))


def comparison_record(comparison: Comparison, report_name: str) -> dict[str, Any]:
    """A crosswire.v1.CompareResponse."""
    return message_dict(comparison_to_pb(comparison, report_name))
