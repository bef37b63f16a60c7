// Every crosswire.v1 RPC from Node.js, built from the proto files alone with a default-configured
// @grpc/grpc-js client, as a caller in another language meets the service.
// Usage: node client.mjs HOST:PORT → one JSON object on stdout, an entry per check (tests/test_node_interop.py).
import path from "node:path";
import { fileURLToPath } from "node:url";

import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const here = path.dirname(fileURLToPath(import.meta.url));
const includeDirs = [path.resolve(here, "../../proto"), path.resolve(here, "proto")];
const loaderOptions = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs };
const RU = "Правительство объявило о новых мерах поддержки экономики.";

const definition = protoLoader.loadSync(
  ["crosswire/v1/translation.proto", "crosswire/v1/segmentation.proto", "crosswire/v1/alignment.proto",
    "crosswire/v1/library.proto", "grpc/health/v1/health.proto", "grpc/reflection/v1/reflection.proto"],
  loaderOptions,
);
const services = grpc.loadPackageDefinition(definition);

/** The reflection service under another version's name: v1alpha's messages are v1's, byte for byte. */
function reflectionService(version) {
  const service = services.grpc.reflection.v1.ServerReflection.service;
  const renamed = Object.fromEntries(Object.entries(service).map(([name, method]) => [
    name, { ...method, path: method.path.replace("grpc.reflection.v1.", `grpc.reflection.${version}.`) }]));
  return grpc.makeGenericClientConstructor(renamed, "ServerReflection");
}

/** A unary call as a promise of {code, details, value, requestId, errorDetails}; never rejects. */
function unary(client, method, request, { deadlineMs = 60000, requestId } = {}) {
  const metadata = new grpc.Metadata();
  if (requestId) metadata.set("x-request-id", requestId);
  return new Promise((resolve) => {
    let answer;
    const options = { deadline: Date.now() + deadlineMs };
    const call = client[method](request, metadata, options, (error, value) => {
      answer = error ? { code: grpc.status[error.code], details: error.details } : { code: "OK", value };
    });
    // grpc-js calls back before it reports the status, whose metadata are the trailers.
    call.on("status", ({ metadata: trailers }) => resolve({ ...answer,
      requestId: trailers.get("x-request-id")[0] ?? null,
      errorDetails: trailers.get("grpc-status-details-bin").flatMap(errorDetails) }));
  });
}

/** List the services over a reflection version, and name the file that defines the health service. */
function reflect(address, version) {
  const client = new (reflectionService(version))(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    const answers = [];
    const call = client.ServerReflectionInfo();
    call.on("data", (message) => answers.push(message));
    call.on("error", () => {}); // reported by "status"
    call.on("status", (status) => {
      client.close();
      if (status.code !== grpc.status.OK) return resolve({ code: grpc.status[status.code], details: status.details });
      const listed = answers.find((a) => a.message_response === "list_services_response");
      const files = answers.find((a) => a.message_response === "file_descriptor_response");
      return resolve({ code: "OK", services: listed.list_services_response.service.map((s) => s.name).sort(),
        healthFile: fileName(files.file_descriptor_response.file_descriptor_proto[0]) });
    });
    call.write({ list_services: "" });
    call.write({ file_containing_symbol: "grpc.health.v1.Health" });
    call.end();
  });
}

/** The length-delimited fields of a protobuf message as [number, bytes] pairs (enough to read names and Anys). */
function fields(bytes) {
  const found = [];
  let position = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[position++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (position < bytes.length) {
    const key = varint();
    const wireType = key & 7;
    if (wireType === 0) varint();
    else if (wireType === 2) {
      const length = varint();
      found.push([key >>> 3, bytes.subarray(position, position + length)]);
      position += length;
    } else position += wireType === 1 ? 8 : 4;
  }
  return found;
}

/** A FileDescriptorProto's name (its field 1). */
function fileName(bytes) {
  return fields(bytes).find(([number]) => number === 1)[1].toString("utf8");
}

/** The google.rpc details in a grpc-status-details-bin trailer (a google.rpc.Status, its field 3 a list of Any):
 * each detail's type name, and for a BadRequest the field paths it names. */
function errorDetails(trailer) {
  const field = (bytes, number) => fields(bytes).filter(([n]) => n === number).map(([, value]) => value);
  return field(trailer, 3).map((any) => {
    const type = field(any, 1)[0].toString("utf8").split("/").pop();
    if (type !== "google.rpc.BadRequest") return { type };
    return { type, fields: field(field(any, 2)[0], 1).map((violation) => field(violation, 1)[0].toString("utf8")) };
  });
}

/** Four texts on one TranslateStream: two to translate, then two refused at once (a pair no model has, a reused
 * id), whose answers therefore come first. Answers are told apart by id and, for a reused id, by sequence. */
function stream(client) {
  const items = [{ id: "first", text: RU, source_language: "ru" },
    { id: "second", text: `${RU}\n\nСуд вынес приговор.`, source_language: "ru" },
    { id: "no-model", text: "Bonjour.", source_language: "fr" },
    { id: "first", text: "Суд вынес приговор.", source_language: "ru" }];
  return new Promise((resolve) => {
    const arrived = [];
    const call = client.TranslateStream({ deadline: Date.now() + 60000 });
    call.on("data", (message) => arrived.push({ id: message.id, sequence: message.sequence,
      ...(message.outcome === "result" ? { segments: message.result.segments.length }
        : { code: message.error.code, message: message.error.message }) }));
    call.on("error", () => {}); // reported by "status"
    call.on("status", (status) => resolve({ code: grpc.status[status.code], details: status.details, arrived }));
    items.forEach((item) => call.write(item));
    call.end();
  });
}

/** Whether each kind of offset in the reply slices out exactly each sentence (UTF-16 units are JavaScript's). */
function slices(text, sentences) {
  const bytes = Buffer.from(text, "utf8");
  const cut = {
    code_points: (s) => Array.from(text).slice(s.start, s.end).join(""),
    utf16: (s) => text.slice(s.start_utf16, s.end_utf16),
    utf8: (s) => bytes.subarray(s.start_utf8, s.end_utf8).toString("utf8"),
  };
  const present = { code_points: "start", utf16: "start_utf16", utf8: "start_utf8" };
  return Object.fromEntries(Object.entries(cut).filter(([name]) => present[name] in sentences[0])
    .map(([name, slice]) => [name, sentences.every((s) => slice(s) === s.text)]));
}

/** An answer with its value reduced to what the test looks at; failures stay as they are. */
const summary = (answer, pick) => (answer.code === "OK" ? { code: "OK", ...pick(answer.value) } : answer);

const REPORT = { name: "tass",
  text: "Генсек НАТО Йенс Столтенберг призвал Россию прекратить бои в Сирии.\nКерри проинформировал союзников." };
const COVERAGE = { name: "bbc", text: "NATO Secretary General Jens Stoltenberg called on Russia to stop the fighting "
  + "in Syria.\nKerry briefed the allies." };
const EMOJI = "Привет 👋 мир. Второе 𝔘 предложение. Третье.";
// One-word sentences up to the server's default max_chars: an answer several times the size of the request.
const LONG = "Да. Нет. ".repeat(111000);

async function main(address) {
  const credentials = grpc.credentials.createInsecure();
  const v1 = services.crosswire.v1;
  const translation = new v1.TranslationService(address, credentials);
  const segmentation = new v1.SegmentationService(address, credentials);
  const alignment = new v1.AlignmentService(address, credentials);
  const library = new v1.LibraryService(address, credentials);
  const health = new services.grpc.health.v1.Health(address, credentials);
  const status = (v) => ({ status: v.status });
  const translate = (request, options) =>
    unary(translation, "Translate", { source_language: "ru", ...request }, options);
  const translated = await translate({ texts: [RU, ""] }, { requestId: "node-interop-1" });

  const results = {
    health: summary(await unary(health, "Check", { service: "" }), status),
    healthTranslation: summary(await unary(health, "Check", { service: "crosswire.v1.TranslationService" }), status),
    reflectionV1: await reflect(address, "v1"),
    reflectionV1alpha: await reflect(address, "v1alpha"),
    models: summary(await unary(translation, "ListModels", {}), (v) => ({
      models: v.models.map((m) => ({ name: m.name, pairs: m.pairs.map((p) => `${p.source}->${p.target}`) })) })),
    translate: summary(translated, (v) => ({
      results: v.results.map((r) => ({ model: r.model, segments: r.segments.length, text: r.text })) })),
    requestId: { code: translated.code, requestId: translated.requestId },
    stream: await stream(translation),
    segment: summary(await unary(segmentation, "Segment", { text: EMOJI, language: "ru" }),
      (v) => ({ texts: v.sentences.map((s) => s.text), slices: slices(EMOJI, v.sentences) })),
    align: summary(await unary(alignment, "Align", { source: REPORT, targets: [COVERAGE], mode: "ALIGN_MODE_PARALLEL",
      presegmented: true }), (v) => ({ mode: v.mode, links: v.links.map((l) => [l.source, l.target]) })),
    // A mistyped enum name encodes as the zero value (protobuf's rule); the response says which mode ran.
    mistypedMode: summary(await unary(alignment, "Align", { source: REPORT, targets: [COVERAGE], mode: "PARALLEL",
      presegmented: true }), (v) => ({ mode: v.mode })),
    compare: summary(await unary(alignment, "Compare", { report: REPORT, articles: [COVERAGE] }),
      (v) => ({ documents: v.documents.map((d) => d.name), rows: v.rows.length })),
    // A Timestamp is {seconds, nanos}; an article the library refuses gets its result, the other goes in.
    libraryAdd: summary(await unary(library, "AddArticles", { articles: [
      { ...COVERAGE, outlet: "BBC", published: { seconds: 1469439000, nanos: 0 } }, { name: "empty", text: "" }] }),
    (v) => ({ statuses: v.results.map((r) => r.status) })),
    librarySearch: summary(await unary(library, "Search", { report: REPORT.text, language: "ru",
      selection: { k: 1, window: { seconds: 3 * 86400, nanos: 0 } } }), (v) => ({
      hits: v.hits.map((h) => ({ name: h.article.name, published: Number(h.article.published.seconds),
        coverage: h.coverage })) })),
    compareLibrary: summary(await unary(alignment, "Compare", { report: REPORT, library: { k: 1 } }),
      (v) => ({ documents: v.documents.map((d) => d.name), texts: v.library_articles.map((a) => a.text) })),
    badField: await translate({ texts: [RU], options: { beam_size: 50 } }),
    unknownPair: await translate({ texts: ["Hallo."], source_language: "de" }),
    deadline: await translate({ texts: ["Суд отложил заседание."] }, { deadlineMs: 30 }),
    largeReply: { ...summary(await unary(segmentation, "Segment", { text: LONG, language: "ru" }),
      (v) => ({ sentences: v.sentences.length })), requestBytes: Buffer.byteLength(LONG) },
  };
  [translation, segmentation, alignment, library, health].forEach((client) => client.close());
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

await main(process.argv[2]);
