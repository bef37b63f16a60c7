"""Import a model from a file or folder: CTranslate2 model, OPUS-MT/Marian release, or Argos package.

Every import is built in a staging folder inside the models folder, checked
(the CTranslate2 model and its SentencePiece models must load) and only then
renamed into place; a failure leaves nothing behind.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from crosswire_models.errors import InvalidModelError
from crosswire_models.store import (
    MAX_ARCHIVE_BYTES,
    copy_at_most,
    format_size,
    MAX_ARCHIVE_FILES,
    InstalledModel,
    check_name,
    ensure_free,
    install,
    model_lock,
    staging,
)

FORMATS = ("ctranslate2", "opus-mt", "argos")
QUANTIZATION = "int8"  # what converted models are quantised to
DOC_FILES = ("README.md", "LICENSE", "LICENSE.txt")  # kept beside the model for attribution
SHARED_SPM = "sentencepiece.model"
_LICENCES = [  # (pattern in a README or LICENSE, SPDX-style name); the first match wins
    (re.compile(r"CC[- ]BY[- ]SA[- ]?(\d\.\d)", re.I), "CC-BY-SA-{}"),
    (re.compile(r"CC[- ]BY[- ]?(\d\.\d)", re.I), "CC-BY-{}"),
    (re.compile(r"Creative Commons Attribution (\d\.\d)", re.I), "CC-BY-{}"),
    (re.compile(r"Apache License,? Version 2\.0|Apache-2\.0", re.I), "Apache-2.0"),
    (re.compile(r"\bMIT License\b", re.I), "MIT"),
]


@dataclass
class _Built:
    """What building a model folder found out about the model."""

    default_name: str
    pairs: list[tuple[str, str]]  # from the package's own metadata; empty when it has none
    license: str | None
    converter: str
    source_spm: str  # file names inside the model folder
    target_spm: str


def detect_format(path: Path) -> str:
    """Which of FORMATS `path` holds; the error says what each format needs."""
    if path.is_dir():
        if (path / "metadata.json").is_file() and (path / "model" / "model.bin").is_file():
            return "argos"
        if (path / "decoder.yml").is_file():
            return "opus-mt"
        if (path / "model.bin").is_file() or (path / "model" / "model.bin").is_file():
            return "ctranslate2"
    elif zipfile.is_zipfile(path):
        with _open_zip(path) as zf:
            names = zf.namelist()
        if _argos_prefix(names) is not None:
            return "argos"
        if _member_prefix(names, "decoder.yml") is not None:
            return "opus-mt"
    raise InvalidModelError(
        f"{path} is not a model Crosswire can import: expected a CTranslate2 model folder (model.bin), "
        "an OPUS-MT/Marian release (zip or folder with decoder.yml) or an Argos Translate .argosmodel package"
    )


def import_model(
    path: Path,
    models_dir: Path,
    name: str | None = None,
    *,
    pairs: list[tuple[str, str]] | None = None,
    license: str | None = None,
    source: str | None = None,
    format: str | None = None,
    replace: bool = False,
) -> InstalledModel:
    """Install the model at `path` into `models_dir` and return it.

    `pairs`, `license` and `source` override what the package says about itself
    (the name is the last resort for the pairs: `…-ru-en`, `…-zh_en-…`);
    `format` skips detection; `replace` swaps out an installed model of the same name.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise InvalidModelError(f"no such file or folder: {path}")
    if name is not None:
        check_name(name)
    format = format or detect_format(path)
    if format not in FORMATS:
        raise InvalidModelError(f"unknown model format {format!r}: expected one of {', '.join(FORMATS)}")
    # One import of a name (or, unnamed, of a file) at a time: a second one waits, then finds it installed.
    with model_lock(models_dir, name or f"file-{path.resolve()}"):
        if name is not None and not replace:
            ensure_free(models_dir, name)  # before any long conversion
        return _import(path, models_dir, name, format, pairs=pairs, license=license, source=source,
                       replace=replace)


def _import(
    path: Path, models_dir: Path, name: str | None, format: str, *,
    pairs: list[tuple[str, str]] | None, license: str | None, source: str | None, replace: bool,
) -> InstalledModel:
    """Build the model in a staging folder, check that it loads, and install it."""
    with staging(models_dir, "import") as work:
        out = work / "model-folder"
        out.mkdir()
        try:
            built = _BUILDERS[format](path, out, work)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise InvalidModelError(f"{path} is a damaged archive: {exc}") from None
        name = check_name(name or built.default_name)
        pairs = pairs or built.pairs or _pair_from_name(name)
        if not pairs:
            raise InvalidModelError(
                f"cannot tell which languages {path} translates: give the pair, e.g. --pair ru-en"
            )
        _check_loads(out, built)
        manifest = {
            "name": name,
            "pairs": [list(p) for p in pairs],
            "quantization": _weight_type(out / "model" / "model.bin"),
            "license": license or built.license or "unknown",
            "source": source or str(path.resolve()),
            "converter": built.converter,
            "model": "model",
            "source_spm": built.source_spm,
            "target_spm": built.target_spm,
        }
        return install(out, models_dir, manifest, replace=replace)


def _build_ctranslate2(path: Path, out: Path, work: Path) -> _Built:
    """Copy a CTranslate2 model folder and the SentencePiece model(s) found beside it."""
    model_dir = path if (path / "model.bin").is_file() else path / "model"
    spm_dirs = list(dict.fromkeys([model_dir, path, model_dir.parent]))
    for folder in spm_dirs:
        if (folder / "source.spm").is_file() and (folder / "target.spm").is_file():
            spms = {"source.spm": folder / "source.spm", "target.spm": folder / "target.spm"}
            break
        if (folder / SHARED_SPM).is_file():
            spms = {SHARED_SPM: folder / SHARED_SPM}
            break
    else:
        raise InvalidModelError(
            f"{path} holds a CTranslate2 model but no SentencePiece model beside it: expected source.spm and "
            f"target.spm, or one shared {SHARED_SPM}, in {' or '.join(map(str, spm_dirs))}"
        )
    skip = shutil.ignore_patterns("*.spm", SHARED_SPM, "crosswire.json", *DOC_FILES)
    shutil.copytree(model_dir, out / "model", ignore=skip)
    for filename, file in spms.items():
        shutil.copyfile(file, out / filename)
    _copy_docs(path, out)
    manifest = _read_json(path / "crosswire.json")  # importing a folder from another models folder
    default_name = path.parent.name if path.name == "model" else path.name
    return _Built(
        default_name=manifest.get("name", default_name),
        pairs=[(s, t) for s, t in manifest.get("pairs", [])],
        license=manifest.get("license") or _licence_in(path),
        converter=manifest.get("converter", "none"),
        source_spm=next(iter(spms)),
        target_spm=list(spms)[-1],
    )


def _build_opus_mt(path: Path, out: Path, work: Path) -> _Built:
    """Convert an OPUS-MT/Marian release to CTranslate2 int8 with ctranslate2's OpusMTConverter."""
    from ctranslate2.converters import OpusMTConverter

    release = path
    if path.is_file():
        release = work / "release"
        with _open_zip(path) as zf:
            prefix = _member_prefix(zf.namelist(), "decoder.yml")
            _extract(zf, prefix or "", release, lambda rel: "/" not in rel)
    decoder = _read_yaml(release / "decoder.yml")
    needed = [*decoder.get("models", [])[:1], *decoder.get("vocabs", []), "source.spm", "target.spm"]
    missing = [f for f in needed if not (release / f).is_file()]
    if not decoder.get("models") or missing:
        raise InvalidModelError(
            f"{path} is an incomplete OPUS-MT release: missing {', '.join(missing) or 'the models list in decoder.yml'}"
            " (only SentencePiece releases, with source.spm and target.spm, are supported)"
        )
    readme = _read_text(release / "README.md")
    if "language token is required" in readme:
        raise InvalidModelError(
            f"{path} is a multilingual release that needs target-language tokens, which Crosswire does not add"
        )
    try:
        OpusMTConverter(str(release)).convert(str(out / "model"), quantization=QUANTIZATION)
    except (ValueError, KeyError, TypeError, NotImplementedError) as exc:
        raise InvalidModelError(f"OpusMTConverter cannot convert {path}: {exc!r}") from None
    for filename in ("source.spm", "target.spm"):
        shutil.copyfile(release / filename, out / filename)
    _copy_docs(release, out)
    return _Built(
        default_name=path.stem if path.is_file() else path.name,
        pairs=_pairs_in_opus_readme(readme),
        license=_licence_in(release),
        converter="OpusMTConverter",
        source_spm="source.spm",
        target_spm="target.spm",
    )


def _build_argos(path: Path, out: Path, work: Path) -> _Built:
    """Take the CTranslate2 model, SentencePiece model and metadata out of an Argos Translate package."""
    wanted = ("metadata.json", SHARED_SPM, *DOC_FILES)
    if path.is_file():
        with _open_zip(path) as zf:
            prefix = _argos_prefix(zf.namelist()) or ""
            _extract(zf, prefix, out, lambda rel: rel in wanted or rel.startswith("model/"))
        package_name = prefix.rstrip("/") or path.stem
    else:
        shutil.copytree(path / "model", out / "model")
        for filename in wanted:
            if (path / filename).is_file():
                shutil.copyfile(path / filename, out / filename)
        package_name = path.name
    metadata = _read_json(out / "metadata.json")
    if not (out / SHARED_SPM).is_file():
        raise InvalidModelError(f"{path} has no {SHARED_SPM} (Argos packages tokenised otherwise are not supported)")
    pairs = [(metadata["from_code"], metadata["to_code"])] if {"from_code", "to_code"} <= metadata.keys() else []
    return _Built(
        default_name=package_name,
        pairs=pairs,
        license=_licence_in(out),
        converter="none",
        source_spm=SHARED_SPM,
        target_spm=SHARED_SPM,
    )


_BUILDERS: dict[str, Callable[[Path, Path, Path], _Built]] = {
    "ctranslate2": _build_ctranslate2,
    "opus-mt": _build_opus_mt,
    "argos": _build_argos,
}


def _check_loads(out: Path, built: _Built) -> None:
    """Load the CTranslate2 model and SentencePiece models once, so a broken model is never installed."""
    import ctranslate2
    import sentencepiece

    try:
        ctranslate2.Translator(str(out / "model"), device="cpu")
    except (RuntimeError, ValueError, OSError) as exc:
        raise InvalidModelError(f"the CTranslate2 model does not load: {exc}") from None
    for filename in {built.source_spm, built.target_spm}:
        try:
            sentencepiece.SentencePieceProcessor(model_file=str(out / filename))
        except (RuntimeError, OSError) as exc:
            raise InvalidModelError(f"{filename} is not a SentencePiece model: {exc}") from None


def _weight_type(model_bin: Path) -> str:
    """The quantisation of a CTranslate2 model.bin, read from its header ("int8", "float16", ...).

    The weight matrices' type names it; with int8/int16 weights, a non-float32
    type of the other variables is appended, as ctranslate2 spells compute types.
    """
    dtypes = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
    weights: Counter[str] = Counter()
    others: Counter[str] = Counter()
    try:
        with open(model_bin, "rb") as f:
            def read(fmt: str) -> tuple[int, ...]:
                return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))

            def read_string() -> str:
                (length,) = read("H")
                return f.read(length).rstrip(b"\0").decode("utf-8")

            (version,) = read("I")
            if version >= 2:
                read_string()
                read("I")
            (count,) = read("I")
            for _ in range(count):
                name = read_string()
                (rank,) = read("B")
                read(f"{rank}I")
                if version >= 4:
                    type_id, num_bytes = read("BI")
                    dtype = dtypes[type_id]
                else:
                    item_size, items = read("BI")
                    dtype, num_bytes = {4: "float32", 2: "int16", 1: "int8"}[item_size], items * item_size
                f.seek(num_bytes, 1)
                if rank == 2 and name.endswith("weight"):
                    weights[dtype] += 1
                elif dtype.startswith(("float", "bfloat")):
                    others[dtype] += 1
    except (OSError, struct.error, IndexError, KeyError, UnicodeDecodeError):
        return "unknown"
    if not weights:
        return "unknown"
    weight_type = weights.most_common(1)[0][0]
    other_type = others.most_common(1)[0][0] if others else "float32"
    if weight_type in ("int8", "int16") and other_type != "float32":
        return f"{weight_type}_{other_type}"
    return weight_type


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidModelError(f"{path} is not a readable zip archive: {exc}") from None


def _member_prefix(names: list[str], filename: str) -> str | None:
    """The folder prefix ("" or "dir/") of the shallowest archive member called `filename`."""
    hits = [n for n in names if n == filename or n.endswith("/" + filename)]
    if not hits:
        return None
    return min(hits, key=lambda n: n.count("/"))[: -len(filename)]


def _argos_prefix(names: list[str]) -> str | None:
    """The package folder prefix of an Argos archive, or None if it is not one."""
    prefix = _member_prefix(names, "metadata.json")
    return prefix if prefix is not None and f"{prefix}model/model.bin" in names else None


def _extract(zf: zipfile.ZipFile, prefix: str, dest: Path, wanted: Callable[[str], bool]) -> None:
    """Extract the members below `prefix` that `wanted` accepts (given their path below it) into `dest`.

    Refused before anything is written: more than MAX_ARCHIVE_FILES members, or
    more than MAX_ARCHIVE_BYTES declared; and while writing, a member that
    unpacks to more than it declared (a zip bomb with a false header).
    """
    root = dest.resolve()
    root.mkdir(parents=True, exist_ok=True)
    members = [
        info for info in zf.infolist()
        if not info.is_dir() and info.filename.startswith(prefix) and wanted(info.filename[len(prefix) :])
    ]
    if len(members) > MAX_ARCHIVE_FILES:
        raise InvalidModelError(f"the archive holds {len(members)} files to extract, the limit is {MAX_ARCHIVE_FILES}")
    declared = sum(info.file_size for info in members)
    if declared > MAX_ARCHIVE_BYTES:
        raise InvalidModelError(
            f"the archive unpacks to {format_size(declared)}, the limit is {format_size(MAX_ARCHIVE_BYTES)}"
        )
    for info in members:
        relative = info.filename[len(prefix) :]
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            raise InvalidModelError(f"archive member {info.filename} would land outside the model folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as dst:
            copy_at_most(src, dst, info.file_size, info.filename)


def _copy_docs(source: Path, out: Path) -> None:
    for filename in DOC_FILES:
        if (source / filename).is_file():
            shutil.copyfile(source / filename, out / filename)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidModelError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidModelError(f"{path} should hold a JSON object")
    return data


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidModelError(f"{path} is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidModelError(f"{path} should hold a YAML mapping")
    return data


def _licence_in(folder: Path) -> str | None:
    """The licence named in a folder's LICENSE or README, if a known one is."""
    text = "\n".join(_read_text(folder / f) for f in DOC_FILES)
    for pattern, template in _LICENCES:
        match = pattern.search(text)
        if match:
            return template.format(*match.groups())
    return None


def _pairs_in_opus_readme(readme: str) -> list[tuple[str, str]]:
    """Language pairs from an OPUS-MT README: its language lines, else its download URL."""
    sources = re.search(r"source language\(s\):\s*(.+)", readme)
    targets = re.search(r"target language\(s\):\s*(.+)", readme)
    if sources and targets:
        return [(s, t) for s in sources.group(1).split() for t in targets.group(1).split()]
    url = re.search(r"OPUS-MT-models/([a-z]{2,3})-([a-z]{2,3})/", readme)
    return [(url.group(1), url.group(2))] if url else []


def _pair_from_name(name: str) -> list[tuple[str, str]]:
    """The last two adjacent two-letter words of a name: opus-mt-ru-en → ru-en, translate-zh_en-1_9 → zh-en."""
    words = re.split(r"[-_.]", name.lower())
    pairs = [(a, b) for a, b in zip(words, words[1:]) if re.fullmatch(r"[a-z]{2}", a) and re.fullmatch(r"[a-z]{2}", b)]
    return pairs[-1:]
