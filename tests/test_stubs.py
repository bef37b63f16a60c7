"""proto/buf.gen.yaml generates clients for other languages: every local plugin present runs, the rest skip.

The JavaScript stubs are then used from Node: a request built with them decodes, field for
field, as the Python contract's message, so the two agree on names, numbers and types.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from crosswire.v1 import translation_pb2
from test_contract import buf

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "proto" / "buf.gen.yaml"
PLUGINS = REPO / "proto" / "plugins"
SKIP_NPM = "the TypeScript/JavaScript plugins are not installed: run `npm ci --prefix proto/plugins`"
SKIP_GO = "protoc-gen-go and protoc-gen-go-grpc need a Go toolchain (go install ...; see proto/buf.gen.yaml)"


def plugin_present(entry: dict) -> bool:
    """Whether a local plugin of the template can run here: a path under the repository, or a name on PATH."""
    local = entry["local"]
    return (REPO / local).exists() if "/" in local else shutil.which(local) is not None


def generate(tmp_path: Path, wanted: str) -> Path:
    """Run buf generate with the template's plugins whose output folder is wanted; skip when one is absent."""
    template = yaml.safe_load(TEMPLATE.read_text())
    plugins = [entry for entry in template["plugins"] if entry["out"] == wanted]
    assert plugins, f"proto/buf.gen.yaml has no plugin writing to {wanted}/"
    if not all(plugin_present(entry) for entry in plugins):
        pytest.skip(SKIP_GO if wanted == "go" else SKIP_NPM)
    path = tmp_path / "buf.gen.yaml"
    path.write_text(yaml.safe_dump({**template, "plugins": plugins}))
    done = subprocess.run([buf(), "generate", "proto", "--template", str(path), "-o", str(tmp_path / "gen")],
                          cwd=REPO, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"buf generate ({wanted}):\n{done.stdout}{done.stderr}"
    return tmp_path / "gen" / wanted


def test_template_names_typescript_javascript_and_go_plugins() -> None:
    outs = {entry["out"] for entry in yaml.safe_load(TEMPLATE.read_text())["plugins"]}
    assert {"es", "ts", "go"} <= outs


def test_javascript_stubs_encode_what_the_python_contract_decodes(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    out = generate(tmp_path, "es")
    assert {p.name for p in (out / "crosswire" / "v1").iterdir()} >= {"translation_pb.js", "translation_pb.d.ts",
                                                                     "segmentation_pb.js", "alignment_pb.js"}
    assert (out / "grpc" / "health" / "v1" / "health_pb.js").exists()
    (tmp_path / "gen" / "node_modules").symlink_to(PLUGINS / "node_modules")
    script = tmp_path / "gen" / "encode.mjs"
    script.write_text(
        'import { create, toBinary } from "@bufbuild/protobuf";\n'
        'import { TranslateRequestSchema, TranslationService } from "./es/crosswire/v1/translation_pb.js";\n'
        'const request = create(TranslateRequestSchema, {texts: ["Привет 👋"], sourceLanguage: "ru",\n'
        '  options: {beamSize: 2}, presegmented: true});\n'
        'console.log(Object.keys(TranslationService.method).join(","));\n'
        'console.log(Buffer.from(toBinary(TranslateRequestSchema, request)).toString("base64"));\n'
    )
    done = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    methods, encoded = done.stdout.split()
    assert methods == "translate,translateStream,listModels"
    request = translation_pb2.TranslateRequest.FromString(base64.b64decode(encoded))
    assert request == translation_pb2.TranslateRequest(texts=["Привет 👋"], source_language="ru",
                                                       options=translation_pb2.TranslationOptions(beam_size=2),
                                                       presegmented=True)


def test_typescript_stubs_have_grpc_js_clients(tmp_path: Path) -> None:
    out = generate(tmp_path, "ts")
    translation = (out / "crosswire" / "v1" / "translation.ts").read_text()
    assert 'from "@grpc/grpc-js"' in translation
    assert "export const TranslationServiceClient" in translation
    assert "export interface TranslateStreamRequest" in translation
    assert "export const HealthClient" in (out / "grpc" / "health" / "v1" / "health.ts").read_text()


def test_go_stubs(tmp_path: Path) -> None:
    out = generate(tmp_path, "go")
    assert (out / "crosswire" / "v1" / "translation.pb.go").exists()
    assert "package crosswirev1" in (out / "crosswire" / "v1" / "translation_grpc.pb.go").read_text()
